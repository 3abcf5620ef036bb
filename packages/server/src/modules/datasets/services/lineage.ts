import type { Lineage } from '@loam/api';
import { type Executor, fromJson, toJson } from '../../../platform/db/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import type { Tx } from '../../../platform/index.js';
import type { Principal } from '../../../platform/principal.js';
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
    for (const n of input.nodes ?? []) {
      await db
        .insertInto('dataset_lineage_nodes')
        .values({
          tenant_id: input.tenantId,
          dataset_id: input.datasetId,
          id: n.id,
          type: n.type,
          label: n.label,
          attributes: toJson(n.attributes ?? {}),
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['dataset_id', 'id']).doUpdateSet({ label: n.label, attributes: toJson(n.attributes ?? {}) }))
        .execute();
    }
    for (const e of input.edges ?? []) {
      await db
        .insertInto('dataset_lineage_edges')
        .values({
          tenant_id: input.tenantId,
          dataset_id: input.datasetId,
          from_id: e.from,
          to_id: e.to,
          relation: e.relation,
          created_at: now,
        })
        .onConflict((oc) => oc.columns(['dataset_id', 'from_id', 'to_id', 'relation']).doNothing())
        .execute();
    }
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

  async get(principal: Principal, id: string): Promise<Lineage> {
    const ds = await this.core.authorize(principal, id, 'datasets:read');
    const versions = await this.core.db.selectFrom('dataset_versions').selectAll().where('dataset_id', '=', id).orderBy('number').execute();
    const nodes = await this.core.db
      .selectFrom('dataset_lineage_nodes')
      .selectAll()
      .where('dataset_id', '=', id)
      .orderBy('created_at')
      .execute();
    const edges = await this.core.db
      .selectFrom('dataset_lineage_edges')
      .selectAll()
      .where('dataset_id', '=', id)
      .orderBy('created_at')
      .orderBy('from_id')
      .execute();
    const out: Lineage = {
      dataset_id: id,
      nodes: [
        {
          id,
          type: 'dataset',
          label: ds.row.name,
          attributes: { classification: ds.row.classification },
          created_at: rfc3339(Number(ds.row.created_at)),
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
        attributes: { number: Number(v.number), status: v.status, record_count: Number(v.record_count), checksum: v.checksum },
        created_at: rfc3339(Number(v.created_at)),
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
        attributes: fromJson(n.attributes),
        created_at: rfc3339(Number(n.created_at)),
      });
    }
    for (const e of edges) out.edges.push({ from: e.from_id, to: e.to_id, relation: e.relation });
    return out;
  }
}
