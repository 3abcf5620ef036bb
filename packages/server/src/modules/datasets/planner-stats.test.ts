import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';

/**
 * The planner's statistics are refreshed after an index build and after large loads, on both
 * dialects (issue #22 item 9: on PostgreSQL a new expression index was ignored until ANALYZE ran,
 * so filtered queries right after a bulk load scanned).
 */
describeEachDialect('datasets: planner statistics after index builds and large loads', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  const records = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ id: `r${from + i}`, data: { category: `c${(from + i) % 37}`, n: from + i } }));

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t?.close());

  /** Whether the planner has statistics on the values of the (expression) index `name`. */
  const hasIndexStatistics = async (name: string): Promise<boolean> => {
    const db = t.loam.platform.database.db;
    if (dialect === 'postgres') {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stats WHERE tablename = ${name}`.execute(db);
      return rows[0].n > 0;
    }
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_stat1 WHERE idx = ${name}`.execute(db);
    return rows[0].n > 0;
  };
  /** The number of rows of dataset_records the planner assumes. */
  const plannedRows = async (): Promise<number> => {
    const db = t.loam.platform.database.db;
    if (dialect === 'postgres') {
      const { rows } = await sql<{ n: number }>`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'dataset_records'`.execute(db);
      return rows[0].n;
    }
    const { rows } = await sql<{
      stat: string;
    }>`SELECT stat FROM sqlite_stat1 WHERE tbl = 'dataset_records' AND idx = 'dataset_records_history'`.execute(db);
    return rows.length ? Number(rows[0].stat.split(' ')[0]) : -1;
  };
  const fieldIndexes = async (): Promise<string[]> => {
    const db = t.loam.platform.database.db;
    const { rows } =
      dialect === 'postgres'
        ? await sql<{ n: string }>`SELECT indexname AS n FROM pg_indexes WHERE tablename = 'dataset_records'`.execute(db)
        : await sql<{ n: string }>`SELECT name AS n FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dataset_records'`.execute(db);
    return rows.map((r) => r.n).filter((n) => n.startsWith('dataset_records_f_'));
  };

  it('a new field index has statistics as soon as POST …/indexes answers', async () => {
    const ds = (await call('POST', '/api/v1/datasets', { name: 'indexed' })).json.data.id;
    expect((await call('POST', `/api/v1/datasets/${ds}/records`, records(0, 500))).status).toBe(201);
    expect((await call('POST', `/api/v1/datasets/${ds}/indexes`, { field: 'category' })).status).toBe(201);
    const [name] = await fieldIndexes();
    expect(name).toBeDefined();
    expect(await hasIndexStatistics(name)).toBe(true);
  });

  it('finalizing a draft that took 10,000 or more new records refreshes the row estimate', async () => {
    const ds = (await call('POST', '/api/v1/datasets', { name: 'loaded' })).json.data.id;
    const before = await plannedRows();
    expect((await call('POST', `/api/v1/datasets/${ds}/records`, records(1000, 10_000))).status).toBe(201);
    expect(await plannedRows()).toBe(before); // nothing refreshed it yet
    expect((await call('POST', `/api/v1/datasets/${ds}/versions`, {})).status).toBe(201);
    expect(await plannedRows()).toBeGreaterThanOrEqual(10_000);
  });
});
