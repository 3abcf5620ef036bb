import type { Lineage, LineageEdge, LineageNode, LineageQuery } from '@loam/api';
import type { RequestContext } from '../../../platform/context.js';
import { type Executor, fromJson, toJson } from '../../../platform/db/index.js';
import { AppError } from '../../../platform/errors.js';
import { rfc3339 } from '../../../platform/http/context.js';
import type { Tx } from '../../../platform/index.js';
import type { DatasetRow } from '../tables.js';
import { type DatasetCore, type LineageInput, datasetResource } from './core.js';

/** At most this many datasets are joined into one lineage answer. */
export const LINEAGE_MAX_DATASETS = 100;

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

  /**
   * The lineage graph around a dataset: its own graph joined with those of the datasets it
   * derives from (upstream) and that derive from it (downstream), up to `depth` dataset hops,
   * keeping only datasets the caller may read.
   */
  async get(ctx: RequestContext, id: string, q: LineageQuery = {}): Promise<Lineage> {
    const root = await this.core.authorize(ctx, id, 'datasets:read');
    const depth = q.depth ?? 3;
    const direction = q.direction ?? 'both';
    const out: Lineage = { dataset_id: id, depth, direction, datasets: [], nodes: [], edges: [] };
    const nodeIds = new Set<string>();
    const edgeKeys = new Set<string>();
    const queue: { row: DatasetRow; hops: number }[] = [{ row: root.row, hops: 0 }];
    const seen = new Set([id]);
    while (queue.length > 0) {
      const { row, hops } = queue.shift() as { row: DatasetRow; hops: number };
      out.datasets.push(row.id);
      const graph = await this.graphOf(ctx.tenantId, row);
      for (const n of graph.nodes) if (!nodeIds.has(n.id) && nodeIds.add(n.id)) out.nodes.push(n);
      for (const e of graph.edges) {
        const key = `${e.from}\n${e.to}\n${e.relation}`;
        if (!edgeKeys.has(key) && edgeKeys.add(key)) out.edges.push(e);
      }
      if (hops >= depth) continue;
      const next = [...(direction === 'downstream' ? [] : graph.upstream), ...(direction === 'upstream' ? [] : graph.downstream)];
      for (const other of next) {
        if (seen.has(other)) continue;
        seen.add(other);
        if (seen.size > LINEAGE_MAX_DATASETS)
          throw new AppError(
            'lineage_too_large',
            422,
            `The lineage joins more than ${LINEAGE_MAX_DATASETS} datasets; ask with a smaller depth`,
          );
        const neighbour = await this.core.store.datasets.find(this.core.db, ctx.tenantId, other);
        if (!neighbour || !(await this.core.platform.access.allows(ctx, 'datasets:read', datasetResource(neighbour)))) continue;
        queue.push({ row: neighbour, hops: hops + 1 });
      }
    }
    return this.withoutUnreadable(ctx, out);
  }

  /**
   * Drops the nodes naming a dataset the caller may not read (a derived dataset recorded in its
   * source's graph, a source version recorded in its derivative's), and their edges: the graph
   * reveals no name of a dataset the caller could not open.
   */
  private async withoutUnreadable(ctx: RequestContext, graph: Lineage): Promise<Lineage> {
    const joined = new Set(graph.datasets);
    const named = (n: LineageNode) =>
      n.type === 'dataset' ? n.id : typeof n.attributes.dataset_id === 'string' ? n.attributes.dataset_id : undefined;
    const hidden = new Set<string>();
    const verdicts = new Map<string, boolean>();
    for (const n of graph.nodes) {
      const ds = named(n);
      if (ds === undefined || joined.has(ds)) continue;
      if (!verdicts.has(ds)) {
        const row = await this.core.store.datasets.find(this.core.db, ctx.tenantId, ds);
        verdicts.set(ds, row !== undefined && (await this.core.platform.access.allows(ctx, 'datasets:read', datasetResource(row))));
      }
      if (!verdicts.get(ds)) hidden.add(n.id);
    }
    if (hidden.size === 0) return graph;
    return {
      ...graph,
      nodes: graph.nodes.filter((n) => !hidden.has(n.id)),
      edges: graph.edges.filter((e) => !hidden.has(e.from) && !hidden.has(e.to)),
    };
  }

  /** One dataset's own graph, and the datasets it links to either way. */
  private async graphOf(tenantId: string, ds: DatasetRow) {
    const id = ds.id;
    const versions = await this.core.store.versions.all(this.core.db, tenantId, id);
    const stored = await this.core.store.lineage.nodes(this.core.db, tenantId, id);
    const nodes: LineageNode[] = [
      { id, type: 'dataset', label: ds.name, attributes: { classification: ds.classification }, created_at: rfc3339(ds.created_at) },
    ];
    const edges: LineageEdge[] = [];
    let previous: string | undefined;
    for (const v of versions) {
      nodes.push({
        id: v.id,
        type: 'version',
        label: v.name ?? `v${v.number}`,
        attributes: { number: v.number, status: v.status, record_count: v.record_count, checksum: v.checksum },
        created_at: rfc3339(v.created_at),
      });
      edges.push({ from: id, to: v.id, relation: 'version' });
      if (previous) edges.push({ from: previous, to: v.id, relation: 'next_version' });
      previous = v.id;
    }
    const downstream: string[] = [];
    for (const n of stored) {
      const attributes = fromJson<Record<string, unknown>>(n.attributes);
      if (n.type === 'dataset' && n.id !== id) downstream.push(n.id);
      if (n.type === 'anonymization_run' && typeof attributes.derived_dataset_id === 'string' && attributes.derived_dataset_id !== id)
        downstream.push(attributes.derived_dataset_id);
      nodes.push({ id: n.id, type: n.type, label: n.label, attributes, created_at: rfc3339(n.created_at) });
    }
    for (const e of await this.core.store.lineage.edges(this.core.db, tenantId, id))
      edges.push({ from: e.from_id, to: e.to_id, relation: e.relation });
    const parent = ds.derived_from ? fromJson<{ dataset_id?: string }>(ds.derived_from).dataset_id : undefined;
    return { nodes, edges, upstream: parent ? [parent] : [], downstream };
  }
}

const SHAPES: Record<string, [string, string]> = {
  dataset: ['[(', ')]'],
  version: ['[', ']'],
  import: ['[/', '/]'],
  export: ['[\\', '\\]'],
  anonymization_run: ['{{', '}}'],
};

/** A Mermaid flowchart of a lineage graph (for dashboards): one node per graph node, labelled edges. */
export function lineageMermaid(graph: Lineage): string {
  const names = new Map<string, string>();
  const lines = ['flowchart LR'];
  const text = (s: string) => s.replace(/["<>]/g, (c) => `#${c.charCodeAt(0)};`).replace(/\s+/g, ' ');
  const name = (id: string, label?: string, type?: string) => {
    let n = names.get(id);
    if (n) return n;
    n = `n${names.size}`;
    names.set(id, n);
    const [open, close] = SHAPES[type ?? ''] ?? ['(', ')'];
    lines.push(`  ${n}${open}"${text(label ?? id)}<br/>${text(type ?? 'node')} ${text(id)}"${close}`);
    return n;
  };
  for (const node of graph.nodes) name(node.id, node.label, node.type);
  for (const e of graph.edges) lines.push(`  ${name(e.from)} -->|${text(e.relation)}| ${name(e.to)}`);
  lines.push(`  class ${names.get(graph.dataset_id)} root`, '  classDef root stroke-width:3px');
  return `${lines.join('\n')}\n`;
}
