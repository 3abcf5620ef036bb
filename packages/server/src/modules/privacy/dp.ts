import type { Random } from '../../platform/crypto/index.js';
import { AppError } from '../../platform/errors.js';
import type { Row } from './tabular.js';

/** A differentially private aggregate query. */
export interface AggregateQuery {
  type: 'count' | 'sum' | 'mean' | 'histogram';
  /** The numeric (sum, mean, numeric histogram) or categorical (histogram) field. */
  field?: string;
  /** sum/mean/histogram: values are clamped to [lower, upper], which bounds the sensitivity. */
  lower?: number;
  upper?: number;
  /** histogram: number of equal-width bins over [lower, upper]; without bounds, categories. */
  bins?: number;
  /** histogram over categories: the categories reported (others are not), chosen without looking at the data. */
  categories?: string[];
  epsilon: number;
}

export interface AggregateResult {
  type: AggregateQuery['type'];
  epsilon: number;
  mechanism: 'laplace';
  value?: number;
  buckets?: { bucket: string; count: number }[];
}

/** A uniform double in (0, 1) from the platform's randomness (so tests can fix it). */
function uniform(random: Random): number {
  const b = random.bytes(7);
  let x = 0;
  for (const byte of b) x = x * 256 + byte;
  return (x + 0.5) / 2 ** 56;
}

/** Laplace(0, scale) by inverse transform sampling. */
export function laplace(scale: number, random: Random): number {
  const u = uniform(random) - 0.5;
  return -scale * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
}

function bounds(q: AggregateQuery): [number, number] {
  if (q.lower === undefined || q.upper === undefined || !(q.upper > q.lower))
    throw new AppError('validation_error', 400, `${q.type} needs bounds lower < upper (they fix the sensitivity)`, [
      { field: 'query.lower', code: 'required_field_missing', message: 'lower and upper are required, lower < upper' },
    ]);
  return [q.lower, q.upper];
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));

/**
 * Answers `q` over `rows` with the Laplace mechanism. Sensitivities: count 1, sum max(|lower|,
 * |upper|), histogram 1 per bucket (disjoint, so the whole histogram costs ε once); mean spends ε/2
 * on a noisy sum and ε/2 on a noisy count.
 */
export function privateAggregate(rows: Row[], q: AggregateQuery, random: Random): AggregateResult {
  if (!(q.epsilon > 0)) throw new AppError('validation_error', 400, 'epsilon must be positive');
  const base = { type: q.type, epsilon: q.epsilon, mechanism: 'laplace' as const };
  const numbers = () => {
    if (!q.field) throw new AppError('validation_error', 400, `${q.type} needs a field`);
    const [lo, hi] = bounds(q);
    return {
      lo,
      hi,
      values: rows
        .map((r) => Number(r[q.field as string]))
        .filter((x) => Number.isFinite(x))
        .map((x) => clamp(x, lo, hi)),
    };
  };
  switch (q.type) {
    case 'count':
      return { ...base, value: rows.length + laplace(1 / q.epsilon, random) };
    case 'sum': {
      const { lo, hi, values } = numbers();
      const sensitivity = Math.max(Math.abs(lo), Math.abs(hi));
      return { ...base, value: values.reduce((a, b) => a + b, 0) + laplace(sensitivity / q.epsilon, random) };
    }
    case 'mean': {
      const { lo, hi, values } = numbers();
      const sensitivity = Math.max(Math.abs(lo), Math.abs(hi));
      const sum = values.reduce((a, b) => a + b, 0) + laplace(sensitivity / (q.epsilon / 2), random);
      const count = Math.max(1, values.length + laplace(1 / (q.epsilon / 2), random));
      return { ...base, value: clamp(sum / count, lo, hi) };
    }
    case 'histogram': {
      if (!q.field) throw new AppError('validation_error', 400, 'histogram needs a field');
      const counts = new Map<string, number>();
      if (q.categories?.length) {
        for (const c of q.categories) counts.set(c, 0);
        for (const r of rows) {
          const v = String(r[q.field] ?? '');
          if (counts.has(v)) counts.set(v, (counts.get(v) as number) + 1);
        }
      } else {
        const { lo, hi, values } = numbers();
        const bins = q.bins ?? 10;
        const width = (hi - lo) / bins;
        const labels = Array.from({ length: bins }, (_, i) => `${lo + i * width}-${lo + (i + 1) * width}`);
        for (const label of labels) counts.set(label, 0);
        for (const v of values) {
          const label = labels[Math.min(bins - 1, Math.floor((v - lo) / width))];
          counts.set(label, (counts.get(label) as number) + 1);
        }
      }
      return {
        ...base,
        buckets: [...counts.entries()].map(([bucket, count]) => ({ bucket, count: count + laplace(1 / q.epsilon, random) })),
      };
    }
  }
}
