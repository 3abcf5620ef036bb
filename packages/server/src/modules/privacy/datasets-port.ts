import type { CreateDataset, Dataset, NewRecord, SchemaField } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { type Tx, fromJson } from '../../platform/db/index.js';
import type { DatasetRef, VersionRef } from '../datasets/services/core.js';
import type { DatasetService } from '../datasets/services/datasets.js';
import type { Row } from './tabular.js';

/** A dataset the caller may read, with what the privacy engine needs of it. */
export interface ReadableDataset {
  ref: DatasetRef;
  id: string;
  name: string;
  classification: CreateDataset['classification'];
  fields: SchemaField[];
}

export interface LineageNode {
  id: string;
  type: string;
  label: string;
  attributes?: Record<string, unknown>;
}

/**
 * Every call the privacy engine makes into the datasets service, in one place: what the engine
 * needs of a dataset, in the engine's terms.
 */
export class DatasetsPort {
  constructor(private readonly datasets: DatasetService) {}

  /** The caller's dataset once reading it is allowed (404 unknown or another tenant's, 403 denied). */
  async authorizeRead(ctx: RequestContext, id: string): Promise<ReadableDataset> {
    // The dataset and its records: the engine reads every record of it.
    const ref = await this.datasets.authorizeRecords(ctx, id, 'datasets:read');
    return {
      ref,
      id: ref.id,
      name: ref.row.name,
      classification: ref.row.classification as CreateDataset['classification'],
      fields: fromJson<{ fields?: SchemaField[] }>(ref.row.schema).fields ?? [],
    };
  }

  /** The version a selector names (the working draft when none). */
  resolveVersion(ctx: RequestContext, ds: ReadableDataset, version: string | undefined): Promise<VersionRef> {
    return this.datasets.resolveVersion(ctx, ds.ref, version);
  }

  /** Every record of a version, read `pageSize` at a time. */
  async readAll(ds: ReadableDataset, v: VersionRef, pageSize: number): Promise<{ id: string; data: Row }[]> {
    const out: { id: string; data: Row }[] = [];
    for await (const page of this.datasets.records.scanRecords(ds.id, v, undefined, pageSize))
      for (const r of page) out.push({ id: r.id, data: fromJson<Row>(r.data) });
    return out;
  }

  create(ctx: RequestContext, input: CreateDataset): Promise<Dataset> {
    return this.datasets.create(ctx, input);
  }

  async insert(ctx: RequestContext, datasetId: string, records: NewRecord[]): Promise<void> {
    await this.datasets.records.insertRecords(ctx, datasetId, records);
  }

  /** Adds `node` and `edge` to a dataset's lineage graph, in `tx`. */
  recordLineage(tx: Tx, tenantId: string, datasetId: string, node: LineageNode, edge: { from: string; to: string; relation: string }) {
    return this.datasets.lineage.recordLineage({ tenantId, datasetId, nodes: [node], edges: [edge] }, tx);
  }
}
