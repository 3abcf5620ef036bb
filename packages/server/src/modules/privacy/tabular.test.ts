import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { systemRandom } from '../../platform/crypto/index.js';
import { laplace, privateAggregate } from './dp.js';
import { type QuasiIdentifier, type Row, assessRisk, mondrian } from './tabular.js';

/** A deterministic table: small PRNG so the test needs no fixtures. */
function table(n: number, seed = 7): Row[] {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const diseases = ['flu', 'asthma', 'diabetes', 'none', 'migraine'];
  const cities = ['Paris', 'Lyon', 'Berlin', 'Munich', 'Leeds', 'York'];
  return Array.from({ length: n }, (_, i) => ({
    id: i,
    age: 18 + Math.floor(next() * 70),
    zip: `SW${1 + Math.floor(next() * 9)} ${Math.floor(next() * 9)}AB`,
    dob: new Date(Date.UTC(1940 + Math.floor(next() * 60), Math.floor(next() * 12), 1 + Math.floor(next() * 28)))
      .toISOString()
      .slice(0, 10),
    city: cities[Math.floor(next() * cities.length)],
    disease: diseases[Math.floor(next() * diseases.length)],
  }));
}

const QIS: QuasiIdentifier[] = [
  { field: 'age', type: 'number' },
  { field: 'zip', type: 'postcode' },
  { field: 'dob', type: 'date' },
  {
    field: 'city',
    type: 'category',
    hierarchy: {
      Paris: ['France', 'Europe'],
      Lyon: ['France', 'Europe'],
      Berlin: ['Germany', 'Europe'],
      Munich: ['Germany', 'Europe'],
      Leeds: ['UK', 'Europe'],
      York: ['UK', 'Europe'],
    },
  },
];

/** Independent check: group output rows by their quasi-identifier values, count. */
function classSizes(rows: Row[], fields: string[]): number[] {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const key = JSON.stringify(fields.map((f) => r[f]));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.values()];
}

/** Whether a generalized value still describes the original one. */
function covers(general: unknown, original: unknown, qi: QuasiIdentifier): boolean {
  const g = String(general);
  const o = String(original);
  if (g === o) return true;
  if (qi.type === 'number') {
    const [lo, hi] = g.split('-').map(Number);
    return Number(o) >= lo && Number(o) <= hi;
  }
  if (qi.type === 'date') {
    if (/^\d{4}-\d{2}$/.test(g)) return o.startsWith(g);
    const [lo, hi] = g.split('-').map(Number);
    const y = Number(o.slice(0, 4));
    return y >= lo && y <= (hi ?? lo);
  }
  if (qi.type === 'postcode') return o.toUpperCase().replace(/\s+/g, '').startsWith(g.replace(/\*$/, ''));
  if (g === '*') return true;
  if (g.startsWith('{')) return g.slice(1, -1).split('|').includes(o);
  return (qi.hierarchy?.[o] ?? []).includes(g);
}

describe('k-anonymity (Mondrian)', () => {
  it('every equivalence class of the output has at least k records, and values stay truthful', () => {
    const input = table(500);
    for (const k of [2, 5, 10, 25]) {
      const out = mondrian(input, { k, quasiIdentifiers: QIS });
      expect(out.satisfied).toBe(true);
      expect(out.records.length + out.suppressed).toBe(input.length);
      const sizes = classSizes(
        out.records,
        QIS.map((q) => q.field),
      );
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(k);
      const byId = new Map(input.map((r) => [r.id, r]));
      for (const row of out.records) for (const qi of QIS) expect(covers(row[qi.field], byId.get(row.id)?.[qi.field], qi)).toBe(true);
      // Utility: more than one class (it did not generalize everything to one group).
      expect(sizes.length).toBeGreaterThan(1);
    }
  });

  it('distinct ℓ-diversity holds in every class when asked for', () => {
    const out = mondrian(table(400), { k: 5, quasiIdentifiers: QIS, sensitive: 'disease', l: 3 });
    const groups = new Map<string, Set<unknown>>();
    for (const r of out.records) {
      const key = JSON.stringify(QIS.map((q) => r[q.field]));
      groups.set(key, (groups.get(key) ?? new Set()).add(r.disease));
    }
    expect(Math.min(...[...groups.values()].map((s) => s.size))).toBeGreaterThanOrEqual(3);
  });

  it('suppresses at most the limit, and reports failure instead of leaking small classes', () => {
    const tiny = table(3);
    const out = mondrian(tiny, { k: 5, quasiIdentifiers: QIS, suppressionLimit: 0.1 });
    expect(out.satisfied).toBe(false);
    expect(out.records).toEqual([]);
  });

  it('holds for random tables and k (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ a: fc.integer({ min: 0, max: 100 }), b: fc.constantFrom('x', 'y', 'z', 'w') }), {
          minLength: 1,
          maxLength: 200,
        }),
        fc.integer({ min: 1, max: 12 }),
        (rows, k) => {
          const out = mondrian(rows, {
            k,
            quasiIdentifiers: [
              { field: 'a', type: 'number' },
              { field: 'b', type: 'category' },
            ],
            suppressionLimit: 1,
          });
          if (out.records.length === 0) return rows.length < k;
          return Math.min(...classSizes(out.records, ['a', 'b'])) >= k;
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('re-identification risk', () => {
  it('reports k, ℓ, prosecutor max and average risk, and the share of records at risk', () => {
    const rows: Row[] = [
      { zip: '1', age: 30, dx: 'a' },
      { zip: '1', age: 30, dx: 'b' },
      { zip: '1', age: 30, dx: 'b' },
      { zip: '2', age: 40, dx: 'c' },
    ];
    const r = assessRisk(rows, ['zip', 'age'], 2, 'dx');
    expect(r).toMatchObject({ records: 4, equivalence_classes: 2, k: 1, l: 1, max_risk: 1, average_risk: 0.5, records_at_risk: 0.25 });
    expect(r.smallest_classes[0]).toEqual({ size: 1, values: { zip: '2', age: 40 } });
  });
});

describe('differential privacy (Laplace)', () => {
  it('noise has mean 0 and mean absolute value equal to the scale', () => {
    const n = 40_000;
    let sum = 0;
    let abs = 0;
    for (let i = 0; i < n; i++) {
      const x = laplace(2, systemRandom);
      sum += x;
      abs += Math.abs(x);
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.1);
    expect(abs / n).toBeGreaterThan(1.9);
    expect(abs / n).toBeLessThan(2.1);
  });

  it('answers count, sum, mean and histogram near the truth at a generous ε', () => {
    const rows = table(1000);
    const count = privateAggregate(rows, { type: 'count', epsilon: 5 }, systemRandom).value as number;
    expect(Math.abs(count - 1000)).toBeLessThan(20);
    const trueMean = rows.reduce((a, r) => a + (r.age as number), 0) / rows.length;
    const mean = privateAggregate(rows, { type: 'mean', field: 'age', lower: 0, upper: 100, epsilon: 5 }, systemRandom).value as number;
    expect(Math.abs(mean - trueMean)).toBeLessThan(3);
    const hist = privateAggregate(
      rows,
      { type: 'histogram', field: 'disease', categories: ['flu', 'none', 'ebola'], epsilon: 5 },
      systemRandom,
    );
    expect(hist.buckets?.map((b) => b.bucket)).toEqual(['flu', 'none', 'ebola']);
    expect(Math.abs((hist.buckets?.[2].count ?? 99) - 0)).toBeLessThan(10);
    expect(() => privateAggregate(rows, { type: 'sum', field: 'age', epsilon: 1 }, systemRandom)).toThrow(/bounds/);
  });
});
