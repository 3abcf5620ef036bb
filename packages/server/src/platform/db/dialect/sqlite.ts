import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type CreateTableBuilder,
  type DatabaseConnection,
  type Driver,
  type Expression,
  Kysely,
  type LogEvent,
  type RawBuilder,
  type SqlBool,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteStatement,
  sql,
} from 'kysely';
import {
  type Bool,
  type BulkInsert,
  type FullTextHit,
  type FullTextOptions,
  type FullTextSpec,
  groupScalars,
  identifier,
  type JsonExpressions,
  joinOr,
  type OpenedDatabase,
  type OutboxPosition,
  type Scalar,
  type SqlDialect,
  type OutboxSelect,
  type Select,
  type DueJobs,
  type ExecutorOf,
  type JobsExecutor,
} from './index.js';
import type { Database } from '../schema.js';

/** Opens (creating) the SQLite database file at `path`. */
export function openSqlite(path: string, log?: (event: LogEvent) => void): OpenedDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }), log });
  return {
    db,
    dialect: new SqliteSqlDialect(sqlite),
    version: async () => `sqlite ${(sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v}`,
    close: () => db.destroy(),
  };
}

/**
 * Kysely prepares every SQLite query anew; preparing (parsing and planning the SQL) cost as much
 * as running the small indexed queries of a request. This keeps the most recently used prepared
 * statements by SQL text (parameters are bound per call, so the cache holds at most one entry
 * per query shape). Statements run synchronously to completion with `all`/`run`, so one can be
 * reused by the next query; a streamed query (`iterate`) keeps its statement busy until the
 * stream ends, so it gets a statement of its own. SQLite re-prepares a cached statement by itself
 * if the schema changes (migrations).
 */
export function withStatementCache(sqlite: SQLite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sqlText: string): SqliteStatement {
      let stmt = cache.get(sqlText);
      if (stmt) {
        // Least recently used first: re-inserting moves the entry to the end.
        cache.delete(sqlText);
        cache.set(sqlText, stmt);
      } else {
        stmt = sqlite.prepare(sqlText);
        cache.set(sqlText, stmt);
        if (cache.size > max) cache.delete(cache.keys().next().value as string);
      }
      const cached = stmt;
      return {
        reader: cached.reader,
        all: (parameters) => cached.all(parameters),
        run: (parameters) => cached.run(parameters),
        iterate: (parameters) => sqlite.prepare(sqlText).iterate(parameters),
      };
    },
  };
}

/**
 * SQLite transactions that take the write lock at BEGIN. A deferred transaction that reads and
 * then writes fails at once with SQLITE_BUSY when another process (`loam worker` beside
 * `loam serve`) holds the lock; BEGIN IMMEDIATE instead waits up to busy_timeout for it.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class ImmediateSqliteDialect extends SqliteDialect {
  constructor(private readonly dialectConfig: SqliteDialectConfig) {
    super(dialectConfig);
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.dialectConfig);
  }
}

/**
 * SQLite: `json_type` names the JSON type (NULL when missing) and `json_extract` gives the SQL
 * value (booleans as 0/1, hence the type checks). Every piece is written to be TRUE or FALSE,
 * never NULL, so that NOT behaves.
 */
function sqliteJson(column: string): JsonExpressions {
  const col = sql.ref(column);
  const jp = (path: string[]) => sql.lit(`$.${path.join('.')}`);
  const x = (path: string[]) => sql`json_extract(${col}, ${jp(path)})`;
  const t = (path: string[]) => sql`json_type(${col}, ${jp(path)})`;
  const isNumber = (path: string[]) => sql<SqlBool>`(${t(path)} IS 'integer' OR ${t(path)} IS 'real')`;
  const isNull = (path: string[]) => sql<SqlBool>`(${t(path)} IS NULL OR ${t(path)} = 'null')`;

  const anyOf = (path: string[], values: Scalar[]): Bool => {
    const g = groupScalars(values);
    const parts: Bool[] = [];
    if (g.strings.length)
      parts.push(
        g.strings.length === 1
          ? sql<SqlBool>`(${t(path)} IS 'text' AND ${x(path)} = ${g.strings[0]})`
          : sql<SqlBool>`(${t(path)} IS 'text' AND ${x(path)} IN (${sql.join(g.strings)}))`,
      );
    if (g.numbers.length)
      parts.push(
        g.numbers.length === 1
          ? sql<SqlBool>`(${isNumber(path)} AND ${x(path)} = ${g.numbers[0]})`
          : sql<SqlBool>`(${isNumber(path)} AND ${x(path)} IN (${sql.join(g.numbers)}))`,
      );
    for (const b of g.booleans) parts.push(sql<SqlBool>`${t(path)} IS ${b ? 'true' : 'false'}`);
    if (g.hasNull) parts.push(isNull(path));
    return joinOr(parts);
  };

  return {
    value: x,
    sortKey: x,
    param: (v) => sql`${v as string | number | null}`,
    orderedScalar: (path) => x(path),
    // SQL values come back as they are, booleans as 0/1.
    decode: (raw, boolean) => (raw == null ? null : boolean ? raw === 1 : raw),
    anyOf,
    range: (path, o, value) =>
      typeof value === 'number'
        ? sql<SqlBool>`(${isNumber(path)} AND ${x(path)} ${o} ${value})`
        : sql<SqlBool>`(${t(path)} IS 'text' AND ${x(path)} ${o} ${value})`,
    contains(path, v) {
      const typeTest =
        typeof v === 'string'
          ? sql`e.type IS 'text'`
          : typeof v === 'number'
            ? sql`(e.type IS 'integer' OR e.type IS 'real')`
            : sql`e.type IS ${v ? 'true' : 'false'}`;
      const inArray = sql<SqlBool>`(${t(path)} IS 'array' AND EXISTS (SELECT 1 FROM json_each(${col}, ${jp(path)}) AS e WHERE ${typeTest}${
        typeof v === 'boolean' ? sql`` : sql` AND e.value = ${v}`
      }))`;
      if (typeof v !== 'string') return inArray;
      return sql<SqlBool>`((${t(path)} IS 'text' AND instr(${x(path)}, ${v}) > 0) OR ${inArray})`;
    },
    startsWith: (path, s) => sql<SqlBool>`(${t(path)} IS 'text' AND substr(${x(path)}, 1, ${[...s].length}) = ${s})`,
    exists: (path, exists) => (exists ? sql<SqlBool>`(${t(path)} IS NOT NULL)` : sql<SqlBool>`(${t(path)} IS NULL)`),
  };
}

export class SqliteSqlDialect implements SqlDialect {
  readonly name = 'sqlite';
  readonly jsonType = 'text';
  readonly rowLocks = false;
  /** Prepared bulk INSERT statements by SQL text, on Kysely's one connection. */
  private readonly inserts = new Map<string, SQLite.Statement>();

  /** `sqlite` is the one connection Kysely uses: statements run on it inside a transaction belong to it. */
  constructor(private readonly sqlite: SQLite.Database) {}

  serialPrimaryKey<TB extends string, C extends string, CN extends string>(
    table: CreateTableBuilder<TB, C>,
    column: CN,
  ): CreateTableBuilder<TB, C | CN> {
    return table.addColumn(column, 'integer', (c) => c.primaryKey().autoIncrement());
  }

  transactionIdDefault(): number {
    return 0;
  }

  async createAppendOnlyTriggers<DB>(db: ExecutorOf<DB>, table: string): Promise<void> {
    const t = identifier(table);
    await sql`create trigger ${sql.raw(`${t}_no_update`)} before update on ${sql.raw(t)}
          begin select raise(abort, ${sql.raw(`'${t} is append-only'`)}); end`.execute(db);
    await sql`create trigger ${sql.raw(`${t}_no_delete`)} before delete on ${sql.raw(t)}
          begin select raise(abort, ${sql.raw(`'${t} is append-only'`)}); end`.execute(db);
  }

  async analyzeAfterIndex<DB>(db: ExecutorOf<DB>, table: string): Promise<void> {
    await sql`ANALYZE ${sql.raw(identifier(table))}`.execute(db);
  }

  json(column: string): JsonExpressions {
    return sqliteJson(column);
  }

  jsonText(column: Expression<unknown>, path: string[]): RawBuilder<string | null> {
    const jsonPath = `$${path.map((p) => `."${p.replaceAll('"', '""')}"`).join('')}`;
    return sql<string | null>`json_extract(${column}, ${jsonPath})`;
  }

  jsonArrayContains(column: string, value: string): Bool {
    return sql<SqlBool>`exists (select 1 from json_each(${sql.ref(column)}) where value = ${value})`;
  }

  async createFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec): Promise<void> {
    await sql`create virtual table ${sql.raw(identifier(spec.ftsTable))} using fts5(body, ${sql.raw(identifier(spec.key))} unindexed, tenant_id unindexed, tokenize = 'unicode61 remove_diacritics 2')`.execute(
      db,
    );
  }

  async putFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, tenantId: string, key: string, text: string): Promise<void> {
    await this.removeFullText(db, spec, key);
    const { insertId } =
      await sql`insert into ${sql.table(spec.ftsTable)} (body, ${sql.ref(spec.key)}, tenant_id) values (${text}, ${key}, ${tenantId})`.execute(
        db,
      );
    await sql`update ${sql.table(spec.table)} set fts_rowid = ${Number(insertId)} where ${sql.ref(spec.key)} = ${key}`.execute(db);
  }

  async removeFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, key: string): Promise<void> {
    await sql`delete from ${sql.table(spec.ftsTable)} where rowid = (select fts_rowid from ${sql.table(spec.table)} where ${sql.ref(spec.key)} = ${key})`.execute(
      db,
    );
  }

  containsWords(column: string, words: string[]): Bool {
    const col = sql.ref(column);
    return sql<SqlBool>`(${sql.join(
      words.map((w) => sql`instr(lower(${col}), ${w.toLowerCase()}) > 0`),
      sql` AND `,
    )})`;
  }

  async searchFullText<DB>(
    db: ExecutorOf<DB>,
    spec: FullTextSpec,
    tenantId: string,
    words: string[],
    limit: number,
    opts: FullTextOptions = {},
  ): Promise<FullTextHit[]> {
    // Each word quoted: user input never reaches FTS5 query syntax.
    const match = words.map((w) => `"${w.replaceAll('"', '""')}"`).join(opts.anyWord ? ' OR ' : ' ');
    const fts = sql.table(spec.ftsTable);
    // The best `limit` rows first (bm25 in SQL, LIMIT), the snippets only of those: SQLite would
    // otherwise compute every matching row's snippet before sorting.
    // (The FTS5 table is named, never aliased: MATCH and bm25 take its name.)
    const ranked = opts.restrict
      ? sql`select t.${sql.ref(spec.key)} as id, ${fts}.rowid as rid, bm25(${fts}) as rank
          from ${fts} join ${sql.table(spec.table)} t on t.fts_rowid = ${fts}.rowid
          where ${fts} match ${match} and t.tenant_id = ${tenantId} and ${opts.restrict}
          order by rank limit ${limit}`
      : sql`select ${fts}.${sql.ref(spec.key)} as id, ${fts}.rowid as rid, bm25(${fts}) as rank
          from ${fts} where ${fts} match ${match} and ${fts}.tenant_id = ${tenantId}
          order by rank limit ${limit}`;
    const { rows } = await sql<FullTextHit>`
        with r as materialized (${ranked})
        select r.id as id, -r.rank as score, snippet(${fts}, 0, '[', ']', '…', 16) as snippet
        from r join ${fts} on ${fts}.rowid = r.rid
        where ${fts} match ${match}
        order by r.rank`.execute(db);
    return rows;
  }

  forUpdate<DB, TB extends keyof DB, O>(query: Select<DB, TB, O>): Select<DB, TB, O> {
    return query;
  }

  forShare<DB, TB extends keyof DB, O>(query: Select<DB, TB, O>): Select<DB, TB, O> {
    return query;
  }

  /** SQLite already runs one writer at a time. */
  async advisoryTransactionLock(): Promise<void> {}

  /** The one writer at a time is lock enough: a second process waits for the first's transactions. */
  withMigrationLock<DB, T>(db: Kysely<DB>, fn: (db: Kysely<DB>) => Promise<T>): Promise<T> {
    return fn(db);
  }

  /**
   * The first n due jobs as the first n of (first n queued ∪ first n with an expired lease).
   * Each part reads the (status, run_at) index in order and stops after n rows, where an OR of
   * the two made SQLite collect and sort every due job on each claim (slow with a deep queue).
   * Ties of run_at go by rowid (insertion order), the index's own last column: ordering them by
   * id made SQLite sort every due job of each run_at run again. SQLite has a single writer, so
   * there is nothing to skip-lock.
   */
  dueJobs(_db: JobsExecutor, kinds: string[], now: number, n: number): DueJobs {
    const kindList = sql.join(kinds);
    return sql<string>`(select id from (
      select id, run_at, r from (select id, run_at, rowid as r from jobs where status = 'queued' and run_at <= ${now}
        and kind in (${kindList}) order by run_at, rowid limit ${n})
      union all
      select id, run_at, r from (select id, run_at, rowid as r from jobs where status = 'running' and lease_until < ${now}
        and kind in (${kindList}) order by run_at, rowid limit ${n})
    ) order by run_at, r limit ${n})`;
  }

  /**
   * SQLite has one writer at a time and commits in sequence order, so its events all have txid
   * 0 and `seq` alone orders them (a row-value comparison would make SQLite read the whole
   * outbox through the index on every pass).
   */
  outboxAfter<O>(query: OutboxSelect<O>, position: OutboxPosition): OutboxSelect<O> {
    return query.where('seq', '>', position.seq);
  }

  outboxOrder<O>(query: OutboxSelect<O>): OutboxSelect<O> {
    return query.orderBy('seq');
  }

  readonly outboxPositionColumns = ['seq'] as const;

  outboxVisibleBelow(): null {
    return null;
  }

  /**
   * One prepared statement run per row on Kysely's single connection (inside its open
   * transaction, so `tx` itself is not needed): the fastest path better-sqlite3 has.
   */
  async bulkInsert<DB, T>(_tx: ExecutorOf<DB>, insert: BulkInsert<T>): Promise<void> {
    const constants = Object.entries(insert.constants);
    const columns = [...constants.map(([c]) => c), ...Object.keys(insert.columns)].map(identifier);
    const text = `INSERT INTO ${identifier(insert.table)} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
    let stmt = this.inserts.get(text);
    if (!stmt) {
      stmt = this.sqlite.prepare(text);
      this.inserts.set(text, stmt);
    }
    const fixed = constants.map(([, v]) => v);
    for (const row of insert.rows) stmt.run(...fixed, ...insert.values(row));
  }

  async storedSecret(_db: Kysely<Database>, opts: { dataDir: string; generate: () => string }): Promise<string> {
    const file = join(opts.dataDir, 'secret.key');
    if (!existsSync(file)) {
      writeFileSync(file, opts.generate(), { mode: 0o600, flag: 'wx' });
      chmodSync(file, 0o600);
    }
    return readFileSync(file, 'utf8').trim();
  }

  /** One process serves a SQLite file: its subscribers are told in memory, nothing to send. */
  async notify(): Promise<void> {}

  async listen(): Promise<() => Promise<void>> {
    return async () => {};
  }

  /** A SQLite file has no server to hold a lock for a process: liveness is told by process id. */
  async holdPresence(): Promise<() => Promise<void>> {
    return async () => {};
  }

  async presenceGone(): Promise<boolean | undefined> {
    return undefined;
  }
}
