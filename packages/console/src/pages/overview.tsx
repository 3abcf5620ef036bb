import type { CloudEventJson, TenantUsage } from '@loam/sdk';
import type { PageProps } from '../routes.js';
import { hasScope } from '../session.js';
import { Card, Loading, Page, Table, bytes, useLoad, when } from '../ui.js';

/** Health, readiness, version, the tenant's usage (requests per day as a bar chart) and recent events. */
export function Overview({ session }: PageProps) {
  const { loam, whoami } = session;
  const health = useLoad(() => loam.healthCheck());
  const admin = useLoad(async () => (hasScope(whoami, 'admin') ? loam.admin.health() : undefined));
  // The usage report is an operator's route (scope tenants:admin).
  const usage = useLoad(async () => (hasScope(whoami, 'tenants:admin') ? loam.tenants.usage(whoami.tenant_id, { days: 14 }) : null));
  const events = useLoad(async () => (hasScope(whoami, 'events:read') ? (await loam.events.list({ limit: 10 })).items : []));
  return (
    <Page title="Overview">
      <div class="cards">
        <Card title="Health">
          <Loading state={health}>
            {(h) => (
              <p>
                <span class={`tag ${h.ok ? 'ok' : 'error'}`}>{h.status}</span> readiness answered in {h.latencyMs} ms
              </p>
            )}
          </Loading>
          {admin.data ? (
            <p class="muted">
              Loam {admin.data.version} · {admin.data.components.map((c) => `${c.name} ${c.status}`).join(', ')}
            </p>
          ) : null}
        </Card>
        <Card title="Usage">
          <Loading state={usage}>
            {(u) => (u ? <UsageSummary usage={u} /> : <p class="muted">The usage report needs the scope tenants:admin.</p>)}
          </Loading>
        </Card>
      </div>
      <Card title="Requests per day">
        <Loading state={usage}>{(u) => (u ? <RequestsChart usage={u} /> : <p class="muted">—</p>)}</Loading>
      </Card>
      <Card title="Recent events">
        <Loading state={events}>
          {(rows) => (
            <Table<CloudEventJson>
              caption="Recent events"
              rows={rows}
              columns={[
                ['Time', (e) => when(e.time)],
                ['Type', (e) => <code>{e.type}</code>],
                ['Subject', (e) => e.subject ?? '—'],
              ]}
              empty="No events yet."
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}

function UsageSummary({ usage }: { usage: TenantUsage }) {
  return (
    <dl class="stats">
      <dt>Storage</dt>
      <dd>{bytes(usage.storage_bytes)}</dd>
      <dt>Datasets</dt>
      <dd>{usage.datasets}</dd>
      <dt>Records</dt>
      <dd>{usage.records}</dd>
      <dt>Content items</dt>
      <dd>{usage.content_items}</dd>
      <dt>Prompts</dt>
      <dd>{usage.prompts}</dd>
    </dl>
  );
}

function RequestsChart({ usage }: { usage: TenantUsage }) {
  const days = usage.days;
  if (days.length === 0) return <p class="muted">No requests recorded yet.</p>;
  const max = Math.max(1, ...days.map((d) => d.requests));
  const w = 28;
  const h = 120;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${days.length * w} ${h + 20}`}
      role="img"
      aria-label={`Requests per day, last ${days.length} days, at most ${max}`}
    >
      {days.map((d, i) => {
        const bar = Math.round((d.requests / max) * h);
        return (
          <g key={d.day}>
            <title>{`${d.day}: ${d.requests} requests`}</title>
            <rect x={i * w + 4} y={h - bar} width={w - 8} height={bar} class="bar" />
            <text x={i * w + w / 2} y={h + 14} text-anchor="middle" class="axis">
              {d.day.slice(8)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
