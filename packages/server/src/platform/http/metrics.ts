import type { Registry } from 'prom-client';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const REQUESTS = 'loam_http_requests_total';
const DURATION = 'loam_http_request_duration_seconds';

type Labels = {
  method: string;
  route: string;
  status: string;
};

interface Cell {
  labels: Labels;
  count: number;
  sum: number;
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  buckets: Float64Array;
}

/**
 * Request counts and durations per method, route and status: the counter
 * `loam_http_requests_total` and the histogram `loam_http_request_duration_seconds`, served
 * through prom-client's registry like every other metric. A route records into cells it holds
 * itself, so a request costs a few increments (prom-client's labelled `inc`/`observe` validate
 * and hash their label set on every call, which costs more than the rest of a small request's
 * bookkeeping together).
 */
export class HttpMetrics {
  private readonly cells: Cell[] = [];

  constructor(registry: Registry) {
    const values = (kind: 'counter' | 'histogram') => (kind === 'counter' ? this.counterValues() : this.histogramValues());
    for (const [name, help, type] of [
      [REQUESTS, 'HTTP requests by route and status', 'counter'],
      [DURATION, 'HTTP request duration by route and status', 'histogram'],
    ] as const) {
      registry.registerMetric({
        name,
        help,
        type,
        aggregator: 'sum',
        get: async () => ({ name, help, type, aggregator: 'sum', values: values(type) }),
        reset: () => {
          for (const cell of this.cells) {
            cell.count = 0;
            cell.sum = 0;
            cell.buckets.fill(0);
          }
        },
      } as never);
    }
  }

  /** A recorder for one route: `record(status, seconds)`. */
  route(method: string, route: string): (status: number, seconds: number) => void {
    const byStatus = new Map<number, Cell>();
    return (status, seconds) => {
      let cell = byStatus.get(status);
      if (!cell) {
        cell = { labels: { method, route, status: String(status) }, count: 0, sum: 0, buckets: new Float64Array(BUCKETS.length + 1) };
        byStatus.set(status, cell);
        this.cells.push(cell);
      }
      cell.count++;
      cell.sum += seconds;
      let i = 0;
      while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
      cell.buckets[i]++;
    };
  }

  private counterValues() {
    return this.cells.map((c) => ({ labels: c.labels, value: c.count }));
  }

  private histogramValues() {
    return this.cells.flatMap((c) => {
      let cumulative = 0;
      const out: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (let i = 0; i <= BUCKETS.length; i++) {
        cumulative += c.buckets[i];
        out.push({
          metricName: `${DURATION}_bucket`,
          labels: { le: i < BUCKETS.length ? BUCKETS[i] : '+Inf', ...c.labels },
          value: cumulative,
        });
      }
      out.push({ metricName: `${DURATION}_sum`, labels: c.labels, value: c.sum });
      out.push({ metricName: `${DURATION}_count`, labels: c.labels, value: c.count });
      return out;
    });
  }
}
