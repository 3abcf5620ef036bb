import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { evaluateFilter, parseFilter } from './filter.js';

/**
 * The SQL a filter compiles to (JSON functions on SQLite, jsonb on PostgreSQL) must select
 * exactly the records the in-memory evaluator accepts, for random records and random filters.
 */

const scalar = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(1.5, -0.5, 2.0),
  fc.constantFrom('', 'a', 'ab', 'b', 'ba', 'abc', 'B', 'a b', '1'),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) });
const recordData = fc.record(
  {
    a: value,
    b: value,
    c: value,
    n: fc.oneof(fc.record({ x: value, y: value }, { requiredKeys: [] }), scalar),
  },
  { requiredKeys: [] },
);

const paths = fc.constantFrom('a', 'b', 'c', 'n.x', 'n.y', 'n', 'missing');
const str = fc.constantFrom('', 'a', 'ab', 'b', 'B', 'abc', '1');
const leaf = fc.oneof(
  fc.record({ p: paths, v: scalar }).map(({ p, v }) => ({ [p]: v })),
  fc.record({ p: paths, op: fc.constantFrom('$eq', '$ne'), v: scalar }).map(({ p, op, v }) => ({ [p]: { [op]: v } })),
  fc
    .record({
      p: paths,
      op: fc.constantFrom('$gt', '$gte', '$lt', '$lte'),
      v: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(1.5), str),
    })
    .map(({ p, op, v }) => ({ [p]: { [op]: v } })),
  fc
    .record({ p: paths, op: fc.constantFrom('$in', '$nin'), v: fc.array(scalar, { minLength: 1, maxLength: 3 }) })
    .map(({ p, op, v }) => ({ [p]: { [op]: v } })),
  fc.record({ p: paths, v: fc.oneof(fc.integer({ min: -3, max: 3 }), str, fc.boolean()) }).map(({ p, v }) => ({ [p]: { $contains: v } })),
  fc.record({ p: paths, v: str }).map(({ p, v }) => ({ [p]: { $startsWith: v } })),
  fc.record({ p: paths, v: fc.boolean() }).map(({ p, v }) => ({ [p]: { $exists: v } })),
  fc.record({ p: paths, v: scalar }).map(({ p, v }) => ({ [p]: { $not: { $eq: v } } })),
);
const filter = fc.letrec<{ f: Record<string, unknown> }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((items) => ({ $and: items })),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((items) => ({ $or: items })),
    tie('f').map((f) => ({ $not: f })),
  ),
})).f;

describeEachDialect('record filters: SQL equals the in-memory evaluator', (dialect) => {
  let t: TestLoam;
  let ds: string;
  const records = new Map<string, Record<string, unknown>>();

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/datasets', headers: t.admin, payload: { name: 'prop' } });
    ds = created.json().data.id;
    const sample = fc.sample(recordData, { numRuns: 120, seed: 42 });
    const batch = sample.map((data, i) => ({ id: `r${String(i).padStart(3, '0')}`, data }));
    for (const r of batch) records.set(r.id, r.data);
    const inserted = await t.app.inject({ method: 'POST', url: `/api/v1/datasets/${ds}/records`, headers: t.admin, payload: batch });
    expect(inserted.statusCode).toBe(201);
    // An index must not change results.
    await t.app.inject({ method: 'POST', url: `/api/v1/datasets/${ds}/indexes`, headers: t.admin, payload: { field: 'a' } });
  });
  afterAll(() => t.close());

  it('selects the same records for random filters', async () => {
    await fc.assert(
      fc.asyncProperty(filter, async (f) => {
        const r = await t.app.inject({
          method: 'POST',
          url: `/api/v1/datasets/${ds}/records/query`,
          headers: t.admin,
          payload: { filter: f, limit: 1000, fields: ['a'] },
        });
        expect(r.statusCode, r.body).toBe(200);
        const got = r.json().data.map((x: { id: string }) => x.id);
        const node = parseFilter(f);
        const expected = [...records.entries()].filter(([, data]) => evaluateFilter(node, data)).map(([id]) => id);
        expect(got).toEqual(expected);
      }),
      { numRuns: 250, seed: Number(process.env.FC_SEED ?? Date.now() % 100_000) },
    );
  });

  it('sorts every type the same way as it filters: nulls and missing last, cursor pages cover all', async () => {
    for (const sort of ['a', '-a', 'n.x', '-b']) {
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const r = await t.app.inject({
          method: 'POST',
          url: `/api/v1/datasets/${ds}/records/query`,
          headers: t.admin,
          payload: { sort, limit: 7, ...(cursor ? { cursor } : {}) },
        });
        expect(r.statusCode, r.body).toBe(200);
        seen.push(...r.json().data.map((x: { id: string }) => x.id));
        cursor = r.json().pagination.cursor;
      } while (cursor);
      expect(new Set(seen).size, sort).toBe(records.size);
      expect(seen).toHaveLength(records.size);
    }
  });
});

describe('filter parsing', () => {
  it('refuses what it cannot compile safely', () => {
    for (const bad of [{ 'a.b;': 1 }, { a: { $where: 'x' } }, { $or: {} }, { a: [1] }, { a: { $in: [] } }, { a: { $startsWith: 1 } }]) {
      expect(() => parseFilter(bad), JSON.stringify(bad)).toThrow();
    }
  });
});
