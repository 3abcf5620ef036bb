import type { MetricsSummary } from '@loam/api';
import type { Registry } from 'prom-client';

type Sample = { value: number; labels: Record<string, string | number | undefined>; metricName?: string };
type Metric = { name: string; type: string; values: Sample[] };

const sum = (m: Metric | undefined, filter: (s: Sample) => boolean = () => true) =>
  (m?.values ?? []).filter(filter).reduce((a, s) => a + (Number.isFinite(s.value) ? s.value : 0), 0);

const byLabel = (m: Metric | undefined, label: string): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const s of m?.values ?? []) {
    const key = String(s.labels[label] ?? 'unknown');
    out[key] = (out[key] ?? 0) + s.value;
  }
  return out;
};

/** The upper bound of the bucket holding quantile `q` of a histogram summed over its label sets. */
function quantile(m: Metric | undefined, q: number): number | null {
  const buckets = new Map<number, number>();
  for (const s of m?.values ?? []) {
    if (!s.metricName?.endsWith('_bucket')) continue;
    const le = s.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const bound = sorted.find(([, cumulative]) => cumulative >= q * total)?.[0] ?? null;
  return bound === null || !Number.isFinite(bound) ? null : bound;
}

/**
 * The operational metrics of this instance as JSON (what `/metrics` exposes to Prometheus,
 * summed up): requests by status class and latency quantiles, authorization decisions, jobs,
 * the event outbox's lag, LLM use, privacy-engine throughput and the process itself.
 */
export async function metricsSummary(registry: Registry, now: number): Promise<MetricsSummary> {
  const metrics = new Map(((await registry.getMetricsAsJSON()) as unknown as Metric[]).map((m) => [m.name, m]));
  const get = (name: string) => metrics.get(name);
  const byStatus: Record<string, number> = {};
  for (const s of get('loam_http_requests_total')?.values ?? []) {
    const cls = `${String(s.labels.status ?? '0').charAt(0)}xx`;
    byStatus[cls] = (byStatus[cls] ?? 0) + s.value;
  }
  const lag = get('loam_outbox_lag_events')?.values[0]?.value;
  const loopLag = get('nodejs_eventloop_lag_seconds')?.values[0]?.value;
  const memory = process.memoryUsage();
  const duration = get('loam_http_request_duration_seconds');
  return {
    generated_at: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    process: {
      uptime_seconds: Math.round(process.uptime()),
      rss_bytes: memory.rss,
      heap_used_bytes: memory.heapUsed,
      event_loop_lag_seconds: loopLag ?? null,
    },
    http: {
      requests: sum(get('loam_http_requests_total')),
      by_status: byStatus,
      in_flight: sum(get('loam_http_requests_in_flight')),
      latency_seconds: { p50: quantile(duration, 0.5), p95: quantile(duration, 0.95), p99: quantile(duration, 0.99) },
    },
    authorization: byLabel(get('loam_authz_decisions_total'), 'result'),
    jobs: byLabel(get('loam_jobs'), 'status'),
    events: { outbox_lag: lag ?? null },
    llm: { requests: sum(get('loam_llm_requests_total')), tokens: sum(get('loam_llm_tokens_total')) },
    privacy: { analyzed_bytes: sum(get('loam_privacy_analyzed_bytes_total')), entities: sum(get('loam_privacy_entities_total')) },
  };
}
