import type { Lineage } from '@loam/api';
import type { RequestContext } from '../../../platform/context.js';
import { type Executor, fromJson, toJson } from '../../../platform/db/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import type { Tx } from '../../../platform/index.js';
import type { DatasetCore, LineageInput } from './core.js';

/** A dataset's lineage graph: its versions plus the nodes and edges recorded by imports, derivations and other modules. */
export class LineageService {
  constructor(private readonly core: DatasetCore) {}

  /**
   * Adds nodes and edges to a dataset's lineage graph (idempotent). Other modules call this —
   * the privacy engine records its anonymization runs (`type: 'anonymization_run'`, an edge
   * `{from: <version id>, to: <run id>, relation: 'anonymized'}`). A version that is the source
   * of a `derived` or `anonymized` edge cannot be deleted.
   */
  async addLineage(db: Executor, input: LineageInput): Promise<void> {
    const now = this.core.platform.clock.now();
    const lineage = this.core.store.lineage;
    const { tenantId, datasetId } = input;
    for (const n of input.nodes ?? [])
      await lineage.putNode(db, {
        tenant_id: tenantId,
        dataset_id: datasetId,
        id: n.id,
        type: n.type,
        label: n.label,
        attributes: toJson(n.attributes ?? {}),
        created_at: now,
      });
    for (const e of input.edges ?? [])
      await lineage.putEdge(db, {
        tenant_id: tenantId,
        dataset_id: datasetId,
        from_id: e.from,
        to_id: e.to,
        relation: e.relation,
        created_at: now,
      });
  }

  /** For other modules: records lineage in its own transaction, after checking the dataset is the tenant's. */
  async recordLineage(input: LineageInput, tx?: Tx): Promise<void> {
    const run = async (db: Executor) => {
      await this.core.loadDataset(db, input.tenantId, input.datasetId);
      await this.addLineage(db, input);
    };
    if (tx) await run(tx);
    else await this.core.platform.transaction(run);
  }

  async get(ctx: RequestContext, id: string): Promise<Lineage> {
    const ds = await this.core.authorize(ctx, id, 'datasets:read');
    const versions = await this.core.store.versions.all(this.core.db, ctx.tenantId, id);
    const nodes = await this.core.store.lineage.nodes(this.core.db, ctx.tenantId, id);
    const edges = await this.core.store.lineage.edges(this.core.db, ctx.tenantId, id);
    const out: Lineage = {
      dataset_id: id,
      nodes: [
        {
          id,
          type: 'dataset',
          label: ds.row.name,
          attributes: { classification: ds.row.classification },
          created_at: rfc3339(ds.row.created_at),
        },
      ],
      edges: [],
    };
    let previous: string | undefined;
    for (const v of versions) {
      out.nodes.push({
        id: v.id,
        type: 'version',
        label: v.name ?? `v${v.number}`,
        attributes: { number: v.number, status: v.status, record_count: v.record_count, checksum: v.checksum },
        created_at: rfc3339(v.created_at),
      });
      out.edges.push({ from: id, to: v.id, relation: 'version' });
      if (previous) out.edges.push({ from: previous, to: v.id, relation: 'next_version' });
      previous = v.id;
    }
    const known = new Set(out.nodes.map((n) => n.id));
    for (const n of nodes) {
      if (known.has(n.id)) continue;
      known.add(n.id);
      out.nodes.push({
        id: n.id,
        type: n.type,
        label: n.label,
        attributes: fromJson<Record<string, unknown>>(n.attributes),
        created_at: rfc3339(n.created_at),
      });
    }
    for (const e of edges) out.edges.push({ from: e.from_id, to: e.to_id, relation: e.relation });
    return out;
  }
}
