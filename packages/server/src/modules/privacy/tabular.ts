import { AppError } from '../../platform/errors.js';

/** A quasi-identifier column and how its values generalize. */
export interface QuasiIdentifier {
  field: string;
  /** number → ranges, date → day/month/year/year range, postcode → prefix, category → hierarchy. */
  type: 'number' | 'date' | 'postcode' | 'category';
  /** category: value → its ancestors, most specific first (`{"Paris": ["France", "Europe"]}`). */
  hierarchy?: Record<string, string[]>;
}

export type Row = Record<string, unknown>;

export interface KAnonymityOptions {
  k: number;
  quasiIdentifiers: QuasiIdentifier[];
  /** Distinct ℓ-diversity on this attribute, when given with `l`. */
  sensitive?: string;
  l?: number;
  /** Largest share of records that may be suppressed (0..1, default 0.05). */
  suppressionLimit?: number;
}

export interface KAnonymityResult {
  records: Row[];
  suppressed: number;
  partitions: number;
  satisfied: boolean;
}

const fieldValue = (row: Row, field: string): unknown => row[field];

function numericKey(qi: QuasiIdentifier, v: unknown): number {
  if (qi.type === 'number') return typeof v === 'number' ? v : Number(v);
  if (qi.type === 'date') return Date.parse(String(v));
  return Number.NaN;
}

function categoryKey(qi: QuasiIdentifier, v: unknown): string {
  const s = v == null ? '' : String(v);
  // Values under the same ancestors sort together, so a cut separates subtrees.
  const path = qi.hierarchy?.[s];
  return path ? `${[...path].reverse().join('\u0000')}\u0000${s}` : s;
}

function sortKey(qi: QuasiIdentifier, v: unknown): number | string {
  return qi.type === 'number' || qi.type === 'date' ? numericKey(qi, v) : categoryKey(qi, v);
}

function compare(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return (Number.isNaN(a) ? 1 : 0) - (Number.isNaN(b) ? 1 : 0) || a - b;
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0;
}

function distinct(rows: Row[], field: string): number {
  return new Set(rows.map((r) => JSON.stringify(fieldValue(r, field) ?? null))).size;
}

/** Width of a partition along one QI, normalized by the whole table's width. */
function spread(rows: Row[], qi: QuasiIdentifier, whole: { min: number; max: number; distinct: number }): number {
  if (qi.type === 'number' || qi.type === 'date') {
    const keys = rows.map((r) => numericKey(qi, fieldValue(r, qi.field))).filter((x) => !Number.isNaN(x));
    if (keys.length === 0 || whole.max === whole.min) return 0;
    return (Math.max(...keys) - Math.min(...keys)) / (whole.max - whole.min);
  }
  return whole.distinct <= 1 ? 0 : (distinct(rows, qi.field) - 1) / (whole.distinct - 1);
}

/**
 * Strict multidimensional Mondrian (LeFevre et al. 2006): cut the widest quasi-identifier at the
 * median while both halves keep ≥ k records (and ≥ ℓ distinct sensitive values), then recode each
 * final partition with the generalization hierarchy of every quasi-identifier.
 */
export function mondrian(rows: Row[], opts: KAnonymityOptions): KAnonymityResult {
  const { k, quasiIdentifiers: qis } = opts;
  if (!Number.isInteger(k) || k < 1) throw new AppError('validation_error', 400, 'k must be a positive integer');
  if (qis.length === 0) throw new AppError('validation_error', 400, 'At least one quasi-identifier is required');
  const l = opts.sensitive ? (opts.l ?? 1) : 1;
  const diverse = (part: Row[]) => !opts.sensitive || distinct(part, opts.sensitive) >= l;
  const whole = qis.map((qi) => {
    const nums = rows.map((r) => numericKey(qi, fieldValue(r, qi.field))).filter((x) => !Number.isNaN(x));
    return {
      min: nums.length ? Math.min(...nums) : 0,
      max: nums.length ? Math.max(...nums) : 0,
      distinct: distinct(rows, qi.field),
    };
  });

  const finals: Row[][] = [];
  const stack: Row[][] = [rows];
  while (stack.length) {
    const part = stack.pop() as Row[];
    let cut = false;
    if (part.length >= 2 * k) {
      const order = qis.map((qi, i) => ({ qi, width: spread(part, qi, whole[i]) })).filter((d) => d.width > 0);
      order.sort((a, b) => b.width - a.width);
      for (const { qi } of order) {
        const sorted = [...part].sort((a, b) => compare(sortKey(qi, fieldValue(a, qi.field)), sortKey(qi, fieldValue(b, qi.field))));
        const keys = sorted.map((r) => sortKey(qi, fieldValue(r, qi.field)));
        // Cut between different values only, nearest the median, keeping ≥ k on each side.
        const mid = Math.floor(sorted.length / 2);
        let best = -1;
        for (let d = 0; d < sorted.length && best < 0; d++) {
          for (const at of [mid - d, mid + d]) {
            if (at >= k && sorted.length - at >= k && compare(keys[at - 1], keys[at]) !== 0) {
              const left = sorted.slice(0, at);
              const right = sorted.slice(at);
              if (diverse(left) && diverse(right)) {
                best = at;
                break;
              }
            }
          }
          if (mid - d < k && mid + d > sorted.length - k) break;
        }
        if (best > 0) {
          stack.push(sorted.slice(0, best), sorted.slice(best));
          cut = true;
          break;
        }
      }
    }
    if (!cut) finals.push(part);
  }

  const limit = Math.floor((opts.suppressionLimit ?? 0.05) * rows.length);
  const failing = finals.filter((p) => p.length < k || !diverse(p));
  const suppressedCount = failing.reduce((n, p) => n + p.length, 0);
  const satisfied = suppressedCount <= limit;
  const out: Row[] = [];
  for (const part of finals) {
    if (failing.includes(part)) continue;
    const recoded = Object.fromEntries(
      qis.map((qi) => [
        qi.field,
        recode(
          part.map((r) => fieldValue(r, qi.field)),
          qi,
        ),
      ]),
    );
    for (const row of part) out.push({ ...row, ...recoded });
  }
  return {
    records: satisfied ? out : [],
    suppressed: satisfied ? suppressedCount : rows.length,
    partitions: finals.length - failing.length,
    satisfied,
  };
}

function commonPrefix(values: string[]): string {
  let prefix = values[0] ?? '';
  for (const v of values) while (!v.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/** The most specific value every member of a partition generalizes to. */
export function recode(values: unknown[], qi: QuasiIdentifier): string | number {
  const strings = [...new Set(values.map((v) => (v == null ? '' : String(v))))];
  if (strings.length === 1) return qi.type === 'number' && values[0] != null ? Number(values[0]) : strings[0];
  if (qi.type === 'number') {
    const nums = values.map(Number).filter((x) => !Number.isNaN(x));
    return `${Math.min(...nums)}-${Math.max(...nums)}`;
  }
  if (qi.type === 'date') {
    const dates = values.map((v) => new Date(Date.parse(String(v)))).filter((d) => !Number.isNaN(d.getTime()));
    const ymd = dates.map((d) => d.toISOString().slice(0, 10));
    if (new Set(ymd.map((s) => s.slice(0, 7))).size === 1) return ymd[0].slice(0, 7);
    const years = dates.map((d) => d.getUTCFullYear());
    const lo = Math.min(...years);
    const hi = Math.max(...years);
    return lo === hi ? String(lo) : `${lo}-${hi}`;
  }
  if (qi.type === 'postcode') {
    const prefix = commonPrefix(strings.map((s) => s.toUpperCase().replace(/\s+/g, '')));
    return `${prefix}*`;
  }
  if (qi.hierarchy) {
    const chains = strings.map((s) => [s, ...(qi.hierarchy?.[s] ?? [])]);
    const ancestor = chains[0].find((a) => chains.every((c) => c.includes(a)));
    if (ancestor) return ancestor;
  }
  return strings.length <= 3 ? `{${strings.sort().join('|')}}` : '*';
}

export interface RiskReport {
  records: number;
  equivalence_classes: number;
  /** Smallest class: the k the table achieves. */
  k: number;
  /** Fewest distinct sensitive values in a class (when a sensitive attribute is named). */
  l: number | null;
  /** Prosecutor model: a record's risk is 1/|its class|. */
  max_risk: number;
  average_risk: number;
  /** Share of records in classes smaller than the requested k. */
  records_at_risk: number;
  smallest_classes: { size: number; values: Record<string, unknown> }[];
}

/** k, ℓ and prosecutor re-identification risk of a table as it is. */
export function assessRisk(rows: Row[], quasiIdentifiers: string[], targetK: number, sensitive?: string): RiskReport {
  const classes = new Map<string, Row[]>();
  for (const row of rows) {
    const key = JSON.stringify(quasiIdentifiers.map((f) => row[f] ?? null));
    const list = classes.get(key);
    if (list) list.push(row);
    else classes.set(key, [row]);
  }
  const sizes = [...classes.values()].map((c) => c.length);
  const n = rows.length;
  const k = sizes.length ? Math.min(...sizes) : 0;
  const l = sensitive ? Math.min(...[...classes.values()].map((c) => distinct(c, sensitive))) : null;
  const atRisk = sizes.filter((s) => s < targetK).reduce((a, s) => a + s, 0);
  const smallest = [...classes.entries()]
    .sort((a, b) => a[1].length - b[1].length)
    .slice(0, 5)
    .map(([key, c]) => ({
      size: c.length,
      values: Object.fromEntries(quasiIdentifiers.map((f, i) => [f, (JSON.parse(key) as unknown[])[i]])),
    }));
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  return {
    records: n,
    equivalence_classes: classes.size,
    k,
    l: sensitive ? (n ? (l as number) : 0) : null,
    max_risk: n ? round(1 / k) : 0,
    average_risk: n ? round(classes.size / n) : 0,
    records_at_risk: n ? round(atRisk / n) : 0,
    smallest_classes: smallest,
  };
}
