/**
 * What paces calls to remote providers: the time source and sleeps (real by default, a fake one
 * in tests), and a circuit breaker per provider.
 */

export interface LlmTimer {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realTimer: LlmTimer = { now: () => Date.now(), sleep };

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface BreakerState {
  failures: number;
  /** While set and in the future, the provider is skipped; once past, one probe call is let through. */
  openUntil?: number;
  probing: boolean;
}

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  failures: number;
  /** How long an open breaker skips its provider before a probe. */
  cooldownMs: number;
}

/**
 * A circuit breaker per provider: after `failures` consecutive failed attempts the provider is
 * skipped for `cooldownMs`; then one call probes it (half-open): success closes the breaker,
 * failure opens it for another period.
 */
export class CircuitBreakers {
  private readonly states = new Map<string, BreakerState>();

  constructor(
    private readonly timer: LlmTimer,
    private readonly opts: BreakerOptions,
  ) {}

  private state(name: string): BreakerState {
    let s = this.states.get(name);
    if (!s) {
      s = { failures: 0, probing: false };
      this.states.set(name, s);
    }
    return s;
  }

  /** Whether a call may go to `name` now (taking the probe slot when half-open). */
  allow(name: string): boolean {
    const s = this.states.get(name);
    if (!s || s.openUntil === undefined) return true;
    if (this.timer.now() < s.openUntil || s.probing) return false;
    s.probing = true;
    return true;
  }

  /** Milliseconds until `name` is probed again (0 when closed). */
  retryInMs(name: string): number {
    const until = this.states.get(name)?.openUntil;
    return until === undefined ? 0 : Math.max(0, until - this.timer.now());
  }

  succeeded(name: string): void {
    const s = this.states.get(name);
    if (!s) return;
    s.failures = 0;
    s.openUntil = undefined;
    s.probing = false;
  }

  /** Counts a failed attempt; true when the breaker is (now) open. */
  failed(name: string): boolean {
    const s = this.state(name);
    s.failures++;
    if (s.probing || s.failures >= this.opts.failures) {
      s.openUntil = this.timer.now() + this.opts.cooldownMs;
      s.probing = false;
      return true;
    }
    return false;
  }

  /** Releases a probe slot that ended neither in success nor in an upstream failure (a cancel). */
  released(name: string): void {
    const s = this.states.get(name);
    if (s) s.probing = false;
  }

  describe(name: string): { state: 'closed' | 'open' | 'half-open'; failures: number } {
    const s = this.states.get(name);
    if (!s || s.openUntil === undefined) return { state: 'closed', failures: s?.failures ?? 0 };
    return { state: this.timer.now() < s.openUntil ? 'open' : 'half-open', failures: s.failures };
  }
}
