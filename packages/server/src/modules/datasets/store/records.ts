import type { DatasetRecord } from '@loam/api';
import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { type Executor, type SqlDialect, fromJson } from '../../../platform/db/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import type { PageKey } from '../../../platform/http/pagination.js';
import { type JsonSql, project } from '../filter.js';
import type { PreparedRecord } from '../records.js';
import type { DatasetRecordsTable, RecordRow } from '../tables.js';

type Bool = RawBuilder<SqlBool>;

/** Which rows of a dataset a read sees: the draft's (`number` null) or a finalized version's. */
export interface RowScope {
  tenantId: string;
  datasetId: string;
  /** The version number read; null for the draft (rows not superseded). */
  number: number | null;
}

/** The columns a record read returns. */
export type RecordColumns = Pick<RecordRow, 'id' | 'data' | 'revision' | 'created_at' | 'updated_at'>;

/** The one mapper of `dataset_records` rows to the API's DatasetRecord (`fields`: a projection). */
export function toRecord(row: Omit<RecordColumns, 'data'> & { data: unknown }, fields?: string[][]): DatasetRecord {
  return {
    id: row.id,
    data: project(fromJson<Record<string, unknown>>(row.data), fields),
    revision: row.revision,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}

/** One page of a keyset-paginated record query. */
export interface RecordPageQuery {
  where?: Bool;
  /** The sort key expression (absent: by id). */
  key?: RawBuilder<unknown>;
  desc: boolean;
  /** The row the page starts after: `[sort key as selected, id]`, or `[id]` without a key. */
  from?: PageKey;
  /** Walk the order backwards from `from` (links.prev), nulls first. */
  reverse: boolean;
  limit: number;
}

export interface FieldAggregates {
  nulls: number | null;
  distinct_n: number;
  min_v: unknown;
  max_v: unknown;
}

/**
 * SQL on `dataset_records`: row versions valid in the version-number range `valid_from` ≤ v <
 * `valid_to`. Every query names the tenant and the dataset.
 */
export class RecordTable {
  constructor(
    private readonly dialect: SqlDialect,
    private readonly json: JsonSql,
  ) {}

  /** Rows visible in the scope's version (the draft: rows not yet superseded). */
  visible(scope: RowScope): Bool {
    if (scope.number === null) return sql<SqlBool>`valid_to IS NULL`;
    return sql<SqlBool>`(valid_from <= ${scope.number} AND (valid_to IS NULL OR valid_to > ${scope.number}))`;
  }

  private scoped(db: Executor, scope: RowScope) {
    return db
      .selectFrom('dataset_records')
      .where('tenant_id', '=', scope.tenantId)
      .where('dataset_id', '=', scope.datasetId)
      .where(this.visible(scope));
  }

  /** The draft's live records with `column` (and the version they were written in), in pages by row id. */
  async *liveRows<C extends 'data' | 'hash'>(tx: Executor, tenantId: string, datasetId: string, column: C, pageSize: number) {
    let after = 0;
    for (;;) {
      const rows: Array<Pick<RecordRow, 'row_id' | 'id' | 'valid_from'> & Record<C, string>> = await tx
        .selectFrom('dataset_records')
        .select(['row_id', 'id', 'valid_from'])
        .select(column === 'data' ? 'data' : 'hash')
        .where('tenant_id', '=', tenantId)
        .where('dataset_id', '=', datasetId)
        .where('valid_to', 'is', null)
        .where('row_id', '>', after)
        .orderBy('row_id')
        .limit(pageSize)
        .execute();
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].row_id;
    }
  }

  /** The ids among `ids` that live records already have. */
  async existingIds(tx: Executor, tenantId: string, datasetId: string, ids: string[]): Promise<string[]> {
    const taken: string[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await tx
        .selectFrom('dataset_records')
        .select('id')
        .where('tenant_id', '=', tenantId)
        .where('dataset_id', '=', datasetId)
        .where('valid_to', 'is', null)
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) taken.push(r.id);
    }
    return taken;
  }

  /** Inserts prepared records into the draft `draft`, the fastest way the dialect has. */
  async bulkInsert(
    tx: Executor,
    at: { tenantId: string; datasetId: string; draft: number; now: number },
    rows: Iterable<PreparedRecord>,
  ): Promise<void> {
    await this.dialect.bulkInsert(tx, {
      table: 'dataset_records',
      constants: {
        tenant_id: at.tenantId,
        dataset_id: at.datasetId,
        valid_from: at.draft,
        valid_to: null,
        revision: 1,
        created_at: at.now,
        updated_at: at.now,
      },
      columns: { id: 'text', data: 'json', hash: 'text', bytes: 'integer' },
      rows,
      values: (r) => [r.id, r.text, r.hash, r.bytes],
    });
  }

  /** The live row of a record, locked for update (PostgreSQL). */
  async liveRow(tx: Executor, tenantId: string, datasetId: string, id: string): Promise<RecordRow | undefined> {
    const q = this.dialect.forUpdate(
      tx
        .selectFrom('dataset_records')
        .selectAll()
        .where('tenant_id', '=', tenantId)
        .where('dataset_id', '=', datasetId)
        .where('id', '=', id)
        .where('valid_to', 'is', null),
    );
    const row: RecordRow | undefined = await q.executeTakeFirst();
    // PostgreSQL, READ COMMITTED: if a concurrent writer closed this row and opened a new one
    // while we waited for its lock, the new row was not in our statement's snapshot; a new
    // statement sees it (and its revision then decides If-Match).
    if (!row && this.dialect.rowLocks) return q.executeTakeFirst();
    return row;
  }

  /** Rewrites a row in place if it is still at its revision; whether it was. */
  async rewrite(
    tx: Executor,
    row: RecordRow,
    set: Pick<DatasetRecordsTable, 'data' | 'hash' | 'bytes' | 'revision' | 'updated_at'>,
  ): Promise<boolean> {
    const r = await tx
      .updateTable('dataset_records')
      .set(set)
      .where('tenant_id', '=', row.tenant_id)
      .where('row_id', '=', row.row_id)
      .where('revision', '=', row.revision)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Closes a live row at `draft` (finalized versions keep reading it) if it is still at its revision. */
  async close(tx: Executor, row: RecordRow, draft: number): Promise<boolean> {
    const r = await tx
      .updateTable('dataset_records')
      .set({ valid_to: draft })
      .where('tenant_id', '=', row.tenant_id)
      .where('row_id', '=', row.row_id)
      .where('valid_to', 'is', null)
      .where('revision', '=', row.revision)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Deletes a row of the draft if it is still at its revision. */
  async deleteRow(tx: Executor, row: RecordRow): Promise<boolean> {
    const r = await tx
      .deleteFrom('dataset_records')
      .where('tenant_id', '=', row.tenant_id)
      .where('row_id', '=', row.row_id)
      .where('revision', '=', row.revision)
      .executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async insert(tx: Executor, row: Omit<DatasetRecordsTable, 'row_id'>): Promise<void> {
    await tx.insertInto('dataset_records').values(row).execute();
  }

  /** Row versions that neither the draft nor any remaining version can see are garbage: deletes them. */
  async collectGarbage(tx: Executor, tenantId: string, datasetId: string): Promise<void> {
    await sql`
      DELETE FROM dataset_records
      WHERE tenant_id = ${tenantId} AND dataset_id = ${datasetId} AND valid_to IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM dataset_versions v
                        WHERE v.dataset_id = dataset_records.dataset_id
                          AND v.number >= dataset_records.valid_from AND v.number < dataset_records.valid_to)`.execute(tx);
  }

  // ---- reads ----------------------------------------------------------------------------------

  find(db: Executor, scope: RowScope, id: string): Promise<RecordRow | undefined> {
    return this.scoped(db, scope).selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * `limit` records matching `where`, sorted by `key` then id (nulls last) or by id, strictly after
   * the row `from` (before it, nearest first, when `reverse`).
   */
  async page(db: Executor, scope: RowScope, p: RecordPageQuery): Promise<Array<RecordColumns & { sort_key?: unknown }>> {
    let q = this.scoped(db, scope).select(['id', 'data', 'revision', 'created_at', 'updated_at']);
    if (p.where) q = q.where(p.where);
    const { key, from, reverse } = p;
    const down = p.desc !== reverse;
    const cmp = sql.raw(down ? '<' : '>');
    const dir = sql.raw(down ? 'DESC' : 'ASC');
    if (!key) {
      if (from) q = q.where(sql<SqlBool>`id ${cmp} ${from[0]}`);
      return q.orderBy(sql`id ${dir}`).limit(p.limit).execute();
    }
    if (from) {
      const [k, id] = from;
      // Nulls sort after every value: past a null nothing but nulls follows; backwards, every value does.
      if (k === null) q = q.where(sql<SqlBool>`((${key} IS NULL AND id ${cmp} ${id})${reverse ? sql` OR ${key} IS NOT NULL` : sql``})`);
      else {
        const kp = this.json.param(k);
        const past = sql<SqlBool>`(${key} IS NOT NULL AND (${key} ${cmp} ${kp} OR (${key} = ${kp} AND id ${cmp} ${id})))`;
        q = q.where(reverse ? past : sql<SqlBool>`(${past} OR ${key} IS NULL)`);
      }
    }
    return q
      .select(key.as('sort_key'))
      .orderBy(sql`(${key} IS NULL) ${sql.raw(reverse ? 'DESC' : 'ASC')}`)
      .orderBy(sql`${key} ${dir}`)
      .orderBy(sql`id ${dir}`)
      .limit(p.limit)
      .execute();
  }

  async count(db: Executor, scope: RowScope, where?: Bool): Promise<number> {
    let q = this.scoped(db, scope).select((eb) => eb.fn.countAll<number>().as('n'));
    if (where) q = q.where(where);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /** Records matching `where` with an id after `after`, in id order (`pageSize` of them). */
  /** `full`: with the revision and times too (the gRPC stream answers whole records). */
  scanPage(db: Executor, scope: RowScope, where: Bool | undefined, after: string | undefined, pageSize: number, full = false) {
    let q = this.scoped(db, scope).select(full ? ['id', 'data', 'revision', 'created_at', 'updated_at'] : ['id', 'data']);
    if (where) q = q.where(where);
    if (after !== undefined) q = q.where('id', '>', after);
    return q.orderBy('id').limit(pageSize).execute();
  }

  /** The data of records `ids` in the scope's version. */
  dataOf(db: Executor, scope: RowScope, ids: string[]) {
    return this.scoped(db, scope).select(['id', 'data']).where('id', 'in', ids).execute();
  }

  /**
   * Records whose content differs between versions `a` and `b` (hash null: absent there), in id
   * order after `after` (before it, nearest first, when `reverse`), `n` of them.
   */
  async diff(db: Executor, a: RowScope, b: RowScope, after: string | undefined, reverse: boolean, n: number) {
    const va = this.visible(a);
    const vb = this.visible(b);
    const ha = sql`MAX(CASE WHEN ${va} THEN hash END)`;
    const hb = sql`MAX(CASE WHEN ${vb} THEN hash END)`;
    const { rows } = await sql<{ id: string; ha: string | null; hb: string | null }>`
      SELECT id, ${ha} AS ha, ${hb} AS hb
      FROM dataset_records
      WHERE tenant_id = ${a.tenantId} AND dataset_id = ${a.datasetId} AND (${va} OR ${vb}) ${after ? sql`AND id ${sql.raw(reverse ? '<' : '>')} ${after}` : sql``}
      GROUP BY id
      HAVING ${ha} IS NULL OR ${hb} IS NULL OR ${ha} <> ${hb}
      ORDER BY id ${sql.raw(reverse ? 'DESC' : 'ASC')}
      LIMIT ${n}`.execute(db);
    return rows;
  }

  /** Record count and stored bytes. */
  async totals(db: Executor, scope: RowScope): Promise<{ n: number; bytes: number }> {
    const t = await this.scoped(db, scope)
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.sum<number | null>('bytes').as('bytes')])
      .executeTakeFirstOrThrow();
    return { n: Number(t.n), bytes: Number(t.bytes ?? 0) };
  }

  /** Null count, distinct count, and the least and greatest `scalar` of the values that are `typed`. */
  async aggregates(db: Executor, scope: RowScope, e: { x: RawBuilder<unknown>; isNull: Bool; typed: Bool; scalar: RawBuilder<unknown> }) {
    const { rows } = await sql<FieldAggregates>`
      SELECT SUM(CASE WHEN ${e.isNull} THEN 1 ELSE 0 END) AS nulls, COUNT(DISTINCT ${e.x}) AS distinct_n,
             MIN(CASE WHEN ${e.typed} THEN ${e.scalar} END) AS min_v, MAX(CASE WHEN ${e.typed} THEN ${e.scalar} END) AS max_v
      FROM dataset_records WHERE tenant_id = ${scope.tenantId} AND dataset_id = ${scope.datasetId} AND ${this.visible(scope)}`.execute(db);
    return rows[0];
  }

  /** The five most frequent non-null values of `x`. */
  async topValues(db: Executor, scope: RowScope, x: RawBuilder<unknown>, isNull: Bool) {
    const { rows } = await sql<{ value: unknown; n: number }>`
      SELECT ${x} AS value, COUNT(*) AS n FROM dataset_records
      WHERE tenant_id = ${scope.tenantId} AND dataset_id = ${scope.datasetId} AND ${this.visible(scope)} AND NOT ${isNull}
      GROUP BY ${x} ORDER BY COUNT(*) DESC, ${x} LIMIT 5`.execute(db);
    return rows;
  }
}
