/** A snapshot of what one client has done since it was created. */
export interface ClientMetrics {
  /** HTTP requests sent, retries and token fetches included. */
  requests: number;
  /** Calls that ended in an error thrown to the caller. */
  errors: number;
  /** Requests sent again after a retryable failure. */
  retries: number;
  /** Client-credentials tokens fetched (first use, expiry, 401). */
  tokenRefreshes: number;
  /** Time to response headers, in milliseconds, over the last 1,000 requests. */
  latency: { count: number; p50: number; p90: number; p99: number; max: number };
}

const WINDOW = 1000;

/** Counters plus a ring buffer of recent latencies: bounded memory however long the client lives. */
export class MetricsRecorder {
  requests = 0;
  errors = 0;
  retries = 0;
  tokenRefreshes = 0;
  private readonly latencies: number[] = [];
  private next = 0;

  observeLatency(ms: number): void {
    if (this.latencies.length < WINDOW) this.latencies.push(ms);
    else this.latencies[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
  }

  snapshot(): ClientMetrics {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0);
    const round = (n: number) => Math.round(n * 100) / 100;
    return {
      requests: this.requests,
      errors: this.errors,
      retries: this.retries,
      tokenRefreshes: this.tokenRefreshes,
      latency: {
        count: sorted.length,
        p50: round(at(0.5)),
        p90: round(at(0.9)),
        p99: round(at(0.99)),
        max: round(sorted[sorted.length - 1] ?? 0),
      },
    };
  }
}
