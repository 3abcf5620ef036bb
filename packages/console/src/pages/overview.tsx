import type { CloudEventJson, TenantUsage } from '@loam/sdk';
import type { PageProps } from '../page.js';
import { hasScope } from '../session.js';
import { Card, Loading, Page, Table, bytes, useLoad, when } from '../ui.js';

/** Health, readiness, version, the tenant's usage (requests per day as a bar chart) and recent events. */
export function Overview({ session }: PageProps) {
  const { loam, whoami } = session;
  const health = useLoad(() => loam.healthCheck());
  const admin = useLoad(async () => (hasScope(whoami, 'admin') ? loam.admin.health() : undefined));
  // The usage report is an operator's route (scope tenants:admin).
  const usage = useLoad(async () => (hasScope(whoami, 'tenants:admin') ? loam.tenants.usage(whoami.tenant_id, { days: 14 }) : null));
  // The event log lists oldest first: the last day's, of which the 10 newest.
  const events = useLoad(async () => {
    if (!hasScope(whoami, 'events:read')) return [];
    const since = new Date(Date.now() - 86_400_000).toISOString();
    return (await loam.events.list({ since, limit: 1000 })).items.slice(-10).reverse();
  });
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

const CHART_DAYS = 14;

/** The last 14 days (UTC), with the days the report has no line for counted as 0. */
function lastDays(usage: TenantUsage): { day: string; requests: number }[] {
  const byDay = new Map(usage.days.map((d) => [d.day, d.requests]));
  const today = Date.now();
  return Array.from({ length: CHART_DAYS }, (_, i) => {
    const day = new Date(today - (CHART_DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10);
    return { day, requests: byDay.get(day) ?? 0 };
  });
}

function RequestsChart({ usage }: { usage: TenantUsage }) {
  const days = lastDays(usage);
  const max = Math.max(1, ...days.map((d) => d.requests));
  const total = days.reduce((n, d) => n + d.requests, 0);
  const w = 32;
  const h = 100;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${days.length * w} ${h + 20}`}
      width={days.length * w}
      height={h + 20}
      role="img"
      aria-label={`Requests per day over the last ${CHART_DAYS} days: ${total} in all, at most ${max} in a day`}
    >
      {days.map((d, i) => {
        const bar = Math.max(d.requests > 0 ? 2 : 0, Math.round((d.requests / max) * h));
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
