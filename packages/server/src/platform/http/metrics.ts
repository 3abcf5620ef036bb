import { Histogram, type Registry } from 'prom-client';

const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const REQUESTS = 'loam_http_requests_total';
const DURATION = 'loam_http_request_duration_seconds';
/** The data-vault design's names, beside Loam's own. */
const API_REQUESTS = 'api_request_count';
const ANONYMIZE = /\/anonymi[sz]/;

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
  private readonly datasetOps: Histogram<'operation'>;
  private readonly anonymization: Histogram<'operation'>;

  constructor(registry: Registry) {
    this.datasetOps = new Histogram({
      name: 'dataset_operation_duration_seconds',
      help: 'Duration of dataset operations (the /api/v1/datasets routes) by operation',
      labelNames: ['operation'],
      buckets: BUCKETS,
      registers: [registry],
    });
    this.anonymization = new Histogram({
      name: 'record_anonymization_duration_seconds',
      help: 'Duration of anonymization requests (records and datasets) by operation',
      labelNames: ['operation'],
      buckets: BUCKETS,
      registers: [registry],
    });
    registry.registerMetric({
      name: API_REQUESTS,
      help: 'API requests (/api/v1 and OTLP) by method, route and status',
      type: 'counter',
      aggregator: 'sum',
      get: async () => ({
        name: API_REQUESTS,
        help: 'API requests (/api/v1 and OTLP) by method, route and status',
        type: 'counter',
        aggregator: 'sum',
        values: this.counterValues().filter((v) => v.labels.route.startsWith('/api/') || v.labels.route.startsWith('/v1/')),
      }),
      reset: () => {},
    } as never);
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
    const operation = `${method} ${route}`;
    // Routes that also feed a data-vault histogram observe into its child for this route.
    const extra = ANONYMIZE.test(route)
      ? this.anonymization.labels({ operation })
      : route.startsWith('/api/v1/datasets')
        ? this.datasetOps.labels({ operation })
        : undefined;
    return (status, seconds) => {
      extra?.observe(seconds);
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
