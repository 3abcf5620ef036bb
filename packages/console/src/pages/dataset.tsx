import type { Dataset, Lineage, Loam } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { type PageProps, href } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Loading, Page, Table, useAction, useLoad } from '../ui.js';
import { BudgetEditor } from './budget.js';
import { Records } from './records.js';
import { ExportPanel, ImportPanel } from './transfer.js';
import { Versions } from './versions.js';

const TABS = ['Records', 'Schema', 'Import and export', 'Versions', 'Lineage', 'Privacy budget'] as const;
type Tab = (typeof TABS)[number];

export function DatasetDetail({ session, id }: PageProps & { id: string }) {
  const { loam, whoami } = session;
  const [tab, setTab] = useState<Tab>('Records');
  const dataset = useLoad(() => loam.datasets.get(id), [id]);
  const mayWrite = hasScope(whoami, 'datasets:write');
  const mayReadBudget = hasScope(whoami, 'anonymization:use');
  // An archived dataset is read-only on the server (409 dataset_archived): its write controls are hidden too.
  const canWrite = mayWrite && dataset.data?.status === 'active';
  const archive = useAction(async (archived: boolean) => {
    await (archived ? loam.datasets.archive(id) : loam.datasets.restore(id));
    dataset.reload();
  });
  return (
    <Page title={dataset.data ? `Dataset ${dataset.data.name}` : 'Dataset'} actions={<a href={href('datasets')}>All datasets</a>}>
      <Loading state={dataset}>
        {(ds) => (
          <>
            <div class="row">
              <p class="muted">
                {ds.id} · {ds.record_count} records in the draft · {ds.classification}
                {ds.description ? ` · ${ds.description}` : ''} ·{' '}
                <span class={`tag ${ds.status === 'active' ? 'ok' : ''}`} data-testid="dataset-status">
                  {ds.status}
                </span>
              </p>
              {mayWrite ? (
                <button type="button" class="secondary" disabled={archive.busy} onClick={() => archive.act(ds.status === 'active')}>
                  {ds.status === 'active' ? 'Archive dataset' : 'Restore dataset'}
                </button>
              ) : null}
            </div>
            <ErrorNote error={archive.error} />
            <div class="tabs" role="tablist" aria-label="Dataset sections">
              {TABS.filter((t) => t !== 'Privacy budget' || mayReadBudget).map((t) => (
                <button key={t} type="button" role="tab" aria-selected={tab === t} onClick={() => setTab(t)}>
                  {t}
                </button>
              ))}
            </div>
            <div role="tabpanel" aria-label={tab}>
              {tab === 'Records' && <Records loam={loam} dataset={ds} canWrite={canWrite} />}
              {tab === 'Schema' && <Schema dataset={ds} />}
              {tab === 'Import and export' && (
                <>
                  {canWrite ? <ImportPanel loam={loam} dataset={ds} onDone={dataset.reload} /> : null}
                  <ExportPanel loam={loam} dataset={ds} />
                </>
              )}
              {tab === 'Versions' && <Versions loam={loam} dataset={ds} canWrite={canWrite} onChange={dataset.reload} />}
              {tab === 'Lineage' && <LineageView loam={loam} dataset={ds} />}
              {tab === 'Privacy budget' && mayReadBudget && (
                <Card title="Differential-privacy budget">
                  <BudgetEditor loam={loam} subject={ds.id} canSet={hasScope(whoami, 'admin')} />
                </Card>
              )}
            </div>
          </>
        )}
      </Loading>
    </Page>
  );
}

function Schema({ dataset }: { dataset: Dataset }) {
  return (
    <Card title="Schema">
      <Table
        caption="Schema fields"
        rows={dataset.schema.fields}
        columns={[
          ['Field', (f) => <code>{f.name}</code>],
          ['Type', (f) => f.type],
          ['Required', (f) => (f.required ? 'yes' : 'no')],
          ['PII class', (f) => (f.pii ? <span class="tag pii">{f.pii}</span> : '—')],
          ['Encrypted at rest', (f) => (dataset.encrypted_fields.includes(f.name) ? 'yes' : 'no')],
        ]}
        empty="No declared fields: records may hold any fields."
      />
    </Card>
  );
}

/** The lineage graph drawn as an SVG: nodes in columns by type, edges as lines between them. */
function LineageView({ loam, dataset }: { loam: Loam; dataset: Dataset }) {
  const lineage = useLoad(() => loam.datasets.lineage(dataset.id), [dataset.id]);
  return (
    <Card title="Lineage">
      <Loading state={lineage}>{(g) => <LineageGraph graph={g} />}</Loading>
    </Card>
  );
}

const NODE_W = 180;
const NODE_H = 44;

export function LineageGraph({ graph }: { graph: Lineage }) {
  if (graph.nodes.length === 0) return <p class="muted">No lineage yet.</p>;
  const columns = [...new Set(graph.nodes.map((n) => n.type))];
  const rows = new Map<string, number>();
  const pos = new Map<string, { x: number; y: number }>();
  for (const n of graph.nodes) {
    const col = columns.indexOf(n.type);
    const row = rows.get(n.type) ?? 0;
    rows.set(n.type, row + 1);
    pos.set(n.id, { x: 10 + col * (NODE_W + 60), y: 10 + row * (NODE_H + 20) });
  }
  const width = 20 + columns.length * (NODE_W + 60);
  const height = 20 + Math.max(...rows.values()) * (NODE_H + 20);
  return (
    <svg
      class="lineage"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      role="img"
      aria-label={`Lineage graph of ${graph.nodes.length} nodes`}
    >
      {graph.edges.map((e) => {
        const a = pos.get(e.from);
        const b = pos.get(e.to);
        if (!a || !b) return null;
        return <line key={`${e.from}-${e.to}`} x1={a.x + NODE_W} y1={a.y + NODE_H / 2} x2={b.x} y2={b.y + NODE_H / 2} class="edge" />;
      })}
      {graph.nodes.map((n) => {
        const p = pos.get(n.id)!;
        return (
          <g key={n.id} transform={`translate(${p.x},${p.y})`}>
            <rect width={NODE_W} height={NODE_H} rx={6} class={`node node-${n.type}`} />
            <text x={8} y={18} class="node-type">
              {n.type}
            </text>
            <text x={8} y={36}>
              {n.label.length > 24 ? `${n.label.slice(0, 23)}…` : n.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
