import { createRequire } from 'node:module';
import type SQLite from 'better-sqlite3';
import { type Expression, type SqlBool, sql } from 'kysely';
import type { ExecutorOf, VectorHit, VectorSpec } from './index.js';

/**
 * sqlite-vec (`vec0` tables) loaded into the connection: its version, or undefined when the
 * extension cannot load on this platform (callers then rank vectors exactly themselves).
 */
export function loadSqliteVec(sqlite: SQLite.Database): string | undefined {
  try {
    (createRequire(import.meta.url)('sqlite-vec') as { load(db: SQLite.Database): void }).load(sqlite);
    return (sqlite.prepare('select vec_version() as v').get() as { v: string }).v;
  } catch {
    return undefined;
  }
}

/** One vec0 table per dimension (a vec0 column has a fixed one): `<vecTable>_<dims>`. */
const tableOf = (spec: VectorSpec, dims: number) => `${spec.vecTable}_${dims}`;

/**
 * Nearest-neighbour search with sqlite-vec: a row's vector lives in the vec0 table of its
 * dimension, joined by the row's `vec_rowid`. vec0's KNN is exact (a scan of compact float32
 * vectors in C), so it returns what exact cosine ranking returns, to float32 rounding.
 */
export class SqliteVectors {
  private readonly tables = new Set<string>();

  constructor(private readonly sqlite: SQLite.Database) {}

  private async table<DB>(db: ExecutorOf<DB>, spec: VectorSpec, dims: number): Promise<string> {
    const name = tableOf(spec, dims);
    if (!this.tables.has(name)) {
      await sql`create virtual table if not exists ${sql.table(name)} using vec0(embedding float[${sql.raw(String(Math.trunc(dims)))}] distance_metric=cosine)`.execute(
        db,
      );
      this.tables.add(name);
    }
    return name;
  }

  /** The vec0 tables of `spec` that exist (one per dimension stored). */
  private existing(spec: VectorSpec): string[] {
    const rows = this.sqlite
      .prepare(`select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%' and name like ? escape '\\'`)
      .all(`${spec.vecTable.replaceAll('_', '\\_')}\\_%`) as { name: string }[];
    return rows.map((r) => r.name).filter((n) => /_\d+$/.test(n));
  }

  /**
   * Deletes every vector no row points at any more (rows deleted in bulk, as a tenant's erasure
   * does): each vec0 table `<table>_vec_<dims>` against its row table `<table>`'s `vec_rowid`.
   */
  async purgeOrphans<DB>(db: ExecutorOf<DB>): Promise<number> {
    const rows = this.sqlite
      .prepare(`select name from sqlite_master where type = 'table' and sql like 'CREATE VIRTUAL TABLE%' and sql like '%vec0%'`)
      .all() as { name: string }[];
    let removed = 0;
    for (const { name } of rows) {
      const m = /^(.+)_vec_(\d+)$/.exec(name);
      if (!m) continue;
      const [, table, dims] = m;
      const r =
        await sql`delete from ${sql.table(name)} where rowid not in (select vec_rowid from ${sql.table(table)} where vec_dims = ${Number(dims)} and vec_rowid is not null)`.execute(
          db,
        );
      removed += Number(r.numAffectedRows ?? 0);
    }
    return removed;
  }

  async put<DB>(db: ExecutorOf<DB>, spec: VectorSpec, key: string, vector: number[]): Promise<void> {
    await this.remove(db, spec, key);
    const name = await this.table(db, spec, vector.length);
    const { insertId } =
      await sql`insert into ${sql.table(name)} (embedding) values (${Buffer.from(new Float32Array(vector).buffer)})`.execute(db);
    await sql`update ${sql.table(spec.table)} set vec_rowid = ${Number(insertId)}, vec_dims = ${vector.length} where ${sql.ref(spec.key)} = ${key}`.execute(
      db,
    );
  }

  async remove<DB>(db: ExecutorOf<DB>, spec: VectorSpec, key: string): Promise<void> {
    const { rows } = await sql<{
      vec_rowid: number | null;
      vec_dims: number | null;
    }>`select vec_rowid, vec_dims from ${sql.table(spec.table)}
        where ${sql.ref(spec.key)} = ${key}`.execute(db);
    const row = rows[0];
    if (!row?.vec_rowid || !row.vec_dims) return;
    if (this.existing(spec).includes(tableOf(spec, row.vec_dims)))
      await sql`delete from ${sql.table(tableOf(spec, row.vec_dims))} where rowid = ${row.vec_rowid}`.execute(db);
    await sql`update ${sql.table(spec.table)} set vec_rowid = null, vec_dims = null where ${sql.ref(spec.key)} = ${key}`.execute(db);
  }

  async search<DB>(
    db: ExecutorOf<DB>,
    spec: VectorSpec,
    vector: number[],
    limit: number,
    restrict: Expression<SqlBool>,
  ): Promise<VectorHit[]> {
    const name = tableOf(spec, vector.length);
    if (!this.existing(spec).includes(name)) return [];
    // The KNN runs over the rows `restrict` admits only (rowid in …): filtered before ranking.
    const { rows } = await sql<{ id: string; distance: number }>`
        select t.${sql.ref(spec.key)} as id, k.distance as distance
        from (select rowid, distance from ${sql.table(name)}
              where embedding match ${Buffer.from(new Float32Array(vector).buffer)} and k = ${limit}
                and rowid in (select t.vec_rowid from ${sql.table(spec.table)} t where t.vec_dims = ${vector.length} and ${restrict})) k
        join ${sql.table(spec.table)} t on t.vec_rowid = k.rowid and t.vec_dims = ${vector.length}
        order by k.distance, t.${sql.ref(spec.key)}`.execute(db);
    return rows.map((r) => ({ id: r.id, similarity: 1 - r.distance }));
  }
}
