/** Time: the clock every layer reads (tests substitute a manual one) and the contracts' formats. */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

// The envelope's timestamp has second precision: formatted once per second, not per response.
let stampSecond = Number.NaN;
let stamp = '';
export function nowRfc3339(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stamp = rfc3339(second * 1000);
  }
  return stamp;
}

// Rows written together share their times (a bulk insert's records): the last one is kept.
let lastMs = Number.NaN;
let lastText = '';
/** RFC 3339 UTC without milliseconds, as the contracts write timestamps. */
export function rfc3339(ms: number): string {
  if (ms !== lastMs) {
    lastText = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
    lastMs = ms;
  }
  return lastText;
}
export const rfc3339OrNull = (ms: number | null | undefined): string | null => (ms == null ? null : rfc3339(ms));
