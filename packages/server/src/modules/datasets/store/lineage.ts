import type { Executor } from '../../../platform/db/index.js';
import type { DatasetLineageEdgesTable, DatasetLineageNodesTable } from '../tables.js';

/** SQL on `dataset_lineage_nodes` and `dataset_lineage_edges`. Every query names the tenant. */
export class LineageTable {
  /** Adds a node, or relabels it (idempotent). */
  async putNode(db: Executor, node: DatasetLineageNodesTable): Promise<void> {
    await db
      .insertInto('dataset_lineage_nodes')
      .values(node)
      .onConflict((oc) => oc.columns(['dataset_id', 'id']).doUpdateSet({ label: node.label, attributes: node.attributes }))
      .execute();
  }

  /** Adds an edge (idempotent). */
  async putEdge(db: Executor, edge: DatasetLineageEdgesTable): Promise<void> {
    await db
      .insertInto('dataset_lineage_edges')
      .values(edge)
      .onConflict((oc) => oc.columns(['dataset_id', 'from_id', 'to_id', 'relation']).doNothing())
      .execute();
  }

  nodes(db: Executor, tenantId: string, datasetId: string): Promise<DatasetLineageNodesTable[]> {
    return db
      .selectFrom('dataset_lineage_nodes')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .orderBy('created_at')
      .execute();
  }

  edges(db: Executor, tenantId: string, datasetId: string): Promise<DatasetLineageEdgesTable[]> {
    return db
      .selectFrom('dataset_lineage_edges')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('dataset_id', '=', datasetId)
      .orderBy('created_at')
      .orderBy('from_id')
      .execute();
  }

  /** What derives from `fromId` by one of `relations` (the ids it points to). */
  async derivedFrom(db: Executor, tenantId: string, fromId: string, relations: string[]): Promise<string[]> {
    const rows = await db
      .selectFrom('dataset_lineage_edges')
      .select('to_id')
      .where('tenant_id', '=', tenantId)
      .where('from_id', '=', fromId)
      .where('relation', 'in', relations)
      .execute();
    return rows.map((r) => r.to_id);
  }
}
