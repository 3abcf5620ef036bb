import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
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
  type VectorHit,
  type VectorSpec,
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
import { SqliteVectors, loadSqliteVec } from './sqlite-vector.js';

/** Opens (creating) the SQLite database file at `path`. */
export function openSqlite(path: string, log?: (event: LogEvent) => void): OpenedDatabase {
  mkdirSync(dirname(path), { recursive: true });
  const sqlite = new SQLite(path);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const checkpoints = new WalCheckpointer(path);
  sqlite.pragma('wal_autocheckpoint = 0'); // WalCheckpointer's thread does it
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }), log });
  return {
    db,
    dialect: new SqliteSqlDialect(sqlite),
    version: async () => `sqlite ${(sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v}`,
    close: async () => {
      await checkpoints.stop();
      await db.destroy();
    },
  };
}

/** WAL size beyond which WalCheckpointer copies it back into the database (SQLite's own default: 1,000 pages). */
const CHECKPOINT_WAL_BYTES = 4 * 1024 * 1024;
const CHECKPOINT_EVERY_MS = 1000;

/**
 * Checkpoints the WAL from a worker thread of its own connection. SQLite's automatic checkpoint
 * runs in the committing connection, so after a large transaction (20 M characters of extracted
 * text saved and indexed: ~50 MB of WAL) the commit held the event loop for seconds copying
 * pages. A PASSIVE checkpoint blocks neither readers nor writers; the thread starts the first
 * time the WAL outgrows CHECKPOINT_WAL_BYTES (so small databases, tests among them, never start it).
 */
class WalCheckpointer {
  private worker: Worker | undefined;
  private busy = false;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly path: string) {
    this.timer = setInterval(() => void this.tick(), CHECKPOINT_EVERY_MS);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    const size = await stat(`${this.path}-wal`).then(
      (s) => s.size,
      () => 0,
    );
    if (size <= CHECKPOINT_WAL_BYTES) return;
    this.busy = true;
    this.worker ??= this.start();
    this.worker.postMessage('checkpoint');
  }

  private start(): Worker {
    const source = `const { parentPort, workerData } = require('node:worker_threads');
      const db = new (require(workerData.module))(workerData.path);
      db.pragma('busy_timeout = 5000');
      parentPort.on('message', () => {
        try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
        parentPort.postMessage('done');
      });`;
    const worker = new Worker(source, {
      eval: true,
      workerData: { path: this.path, module: createRequire(import.meta.url).resolve('better-sqlite3') },
    });
    worker.on('message', () => {
      this.busy = false;
    });
    worker.on('error', () => {
      this.worker = undefined;
      this.busy = false;
    });
    worker.unref();
    return worker;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.worker?.terminate();
  }
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

  readonly vectorIndex: string | undefined;
  private readonly vectors: SqliteVectors;

  /** `sqlite` is the one connection Kysely uses: statements run on it inside a transaction belong to it. */
  constructor(private readonly sqlite: SQLite.Database) {
    const version = loadSqliteVec(sqlite);
    this.vectorIndex = version && `sqlite-vec ${version}`;
    this.vectors = new SqliteVectors(sqlite);
  }

  async putVector<DB>(db: ExecutorOf<DB>, spec: VectorSpec, key: string, vector: number[]): Promise<void> {
    if (this.vectorIndex) await this.vectors.put(db, spec, key, vector);
  }

  async removeVector<DB>(db: ExecutorOf<DB>, spec: VectorSpec, key: string): Promise<void> {
    if (this.vectorIndex) await this.vectors.remove(db, spec, key);
  }

  async searchVectors<DB>(
    db: ExecutorOf<DB>,
    spec: VectorSpec,
    vector: number[],
    limit: number,
    restrict: Expression<SqlBool>,
  ): Promise<VectorHit[]> {
    if (!this.vectorIndex) throw new Error('searchVectors: no vector index (sqlite-vec did not load)');
    return this.vectors.search(db, spec, vector, limit, restrict);
  }

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
    await sql`create virtual table ${sql.raw(identifier(spec.ftsTable))} using fts5(body, ${sql.raw(identifier(spec.key))} unindexed, tenant_id unindexed, tokenize = ${sql.raw(spec.stemmed ? "'porter unicode61 remove_diacritics 2'" : "'unicode61 remove_diacritics 2'")})`.execute(
      db,
    );
  }

  async purgeSearchIndexes<DB>(db: ExecutorOf<DB>): Promise<void> {
    const { rows } = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and sql like '%using fts5%'`.execute(
      db,
    );
    for (const { name } of rows)
      await sql`insert into ${sql.raw(identifier(name))}(${sql.raw(identifier(name))}) values ('optimize')`.execute(db);
    // vec0 tables hold no tenant id: the vectors of the deleted rows go by what no row points at.
    if (this.vectorIndex) await this.vectors.purgeOrphans(db);
  }

  async dropFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec): Promise<void> {
    await sql`drop table if exists ${sql.table(spec.ftsTable)}`.execute(db);
    const parts = spec.parts ? sql`, ${sql.ref(spec.parts)} = null` : sql``;
    await sql`update ${sql.table(spec.table)} set fts_rowid = null${parts}`.execute(db);
  }

  async countFullTextMatches<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, word: string, cap: number): Promise<number> {
    // FTS5 reads the word's document list only (not the rows), and stops at `cap`.
    const fts = sql.table(spec.ftsTable);
    const { rows } = await sql<{
      n: number;
    }>`select count(*) as n from (select 1 from ${fts} where ${fts} match ${quote(word)} limit ${cap})`.execute(db);
    return Number(rows[0]?.n ?? 0);
  }

  async putFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, tenantId: string, key: string, text: string): Promise<void> {
    await this.removeFullText(db, spec, key);
    const parts = spec.parts ? indexParts(text) : [text];
    // The parts' rowids are consecutive: the transaction holds the one connection, nothing else inserts between them.
    let first = 0;
    for (const [i, part] of parts.entries()) {
      if (i > 0) await new Promise((r) => setImmediate(r));
      const { insertId } =
        await sql`insert into ${sql.table(spec.ftsTable)} (body, ${sql.ref(spec.key)}, tenant_id) values (${part}, ${key}, ${tenantId})`.execute(
          db,
        );
      if (i === 0) first = Number(insertId);
    }
    const count = spec.parts ? sql`, ${sql.ref(spec.parts)} = ${parts.length}` : sql``;
    await sql`update ${sql.table(spec.table)} set fts_rowid = ${first}${count} where ${sql.ref(spec.key)} = ${key}`.execute(db);
  }

  async removeFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, key: string): Promise<void> {
    const row = sql`(select fts_rowid from ${sql.table(spec.table)} where ${sql.ref(spec.key)} = ${key})`;
    if (!spec.parts) {
      await sql`delete from ${sql.table(spec.ftsTable)} where rowid = ${row}`.execute(db);
      return;
    }
    const last = sql`(select fts_rowid + coalesce(${sql.ref(spec.parts)}, 1) - 1 from ${sql.table(spec.table)} where ${sql.ref(spec.key)} = ${key})`;
    await sql`delete from ${sql.table(spec.ftsTable)} where rowid between ${row} and ${last}`.execute(db);
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
    const quoted = words.map(quote);
    const fts = sql.table(spec.ftsTable);
    const match = quoted.join(opts.anyWord ? ' OR ' : ' ');
    if (!spec.parts) {
      // (The FTS5 table is named, never aliased: MATCH, rank, bm25 and snippet take its name.)
      const snippet = sql`snippet(${fts}, 0, '[', ']', char(8230), 16)`;
      const own = opts.restrict ? sql`t.tenant_id = ${tenantId} and ${opts.restrict}` : sql`${fts}.tenant_id = ${tenantId}`;
      const join = opts.restrict ? sql` cross join ${sql.table(spec.table)} t on t.fts_rowid = ${fts}.rowid` : sql``;
      const key = opts.restrict ? sql`t.${sql.ref(spec.key)}` : sql`${fts}.${sql.ref(spec.key)}`;
      if (opts.mostMatchesKept) {
        // FTS5 ranks every match itself (`order by rank`: its bm25, sorted inside FTS5) and hands
        // them over best first, so SQLite sorts nothing: the join and the filter run on rows in
        // rank order and LIMIT stops them at the `limit`th row kept; only those get a snippet.
        // CROSS JOIN keeps the FTS5 table the outer loop (the order it hands over).
        const { rows } = await sql<FullTextHit>`select ${key} as id, -${fts}.rank as score, ${snippet} as snippet
            from ${fts}${join} where ${fts} match ${match} and ${own}
            order by ${fts}.rank limit ${limit}`.execute(db);
        return rows;
      }
      // Every match filtered first, bm25 only of the rows kept, the best `limit` of them, then the
      // snippets of those (SQLite would otherwise compute every kept row's snippet before sorting).
      const { rows } = await sql<FullTextHit>`
          with r as materialized (select ${key} as id, ${fts}.rowid as rid, bm25(${fts}) as rank
            from ${fts}${join} where ${fts} match ${match} and ${own}
            order by rank limit ${limit})
          select r.id as id, -r.rank as score, ${snippet} as snippet
          from r join ${fts} on ${fts}.rowid = r.rid
          where ${fts} match ${match}
          order by r.rank`.execute(db);
      return rows;
    }
    // `restrict` names the indexed table's row (knowledge chunks): not offered for texts in parts.
    if (opts.restrict) throw new Error(`fullTextSearch: restrict is not supported on ${spec.ftsTable}, which is indexed in parts`);
    // A document in parts: its words may be in different parts, so every word is required of the
    // document (not of one part), and its best part gives its score and snippet (SQLite takes
    // a bare column from the row max() picks).
    const everyWord = opts.anyWord
      ? sql``
      : sql.join(
          quoted.map(
            (q) =>
              sql` and ${sql.ref(spec.key)} in (select ${sql.ref(spec.key)} from ${fts} where ${fts} match ${q} and tenant_id = ${tenantId})`,
          ),
          sql``,
        );
    // Materialized: flattened into the grouping query, bm25() would be called out of its context.
    const { rows } = await sql<FullTextHit>`
        with part_hits as materialized (
          select ${sql.ref(spec.key)} as id, -bm25(${fts}) as score, snippet(${fts}, 0, '[', ']', char(8230), 16) as snippet
          from ${fts} where ${fts} match ${quoted.join(' OR ')} and tenant_id = ${tenantId}${everyWord})
        select id, max(score) as score, snippet from part_hits group by id order by score desc limit ${limit}`.execute(db);
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
  outboxAfter<O>(query: OutboxSelect<O>, position: OutboxPosition, reverse = false): OutboxSelect<O> {
    return query.where('seq', reverse ? '<' : '>', position.seq);
  }

  outboxOrder<O>(query: OutboxSelect<O>, reverse = false): OutboxSelect<O> {
    return query.orderBy('seq', reverse ? 'desc' : 'asc');
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

/** Characters per index row of a document indexed in parts (FullTextSpec.parts): ~10-50 ms of FTS5 work each. */
const INDEX_PART_CHARS = 128 * 1024;

/** A word as one FTS5 string: user input never reaches FTS5 query syntax. */
const quote = (w: string): string => `"${w.replaceAll('"', '""')}"`;

/** The text cut into parts of about INDEX_PART_CHARS, each cut at a line break or space so no word is split. */
export function indexParts(text: string): string[] {
  const parts: string[] = [];
  let at = 0;
  while (text.length - at > INDEX_PART_CHARS) {
    let end = at + INDEX_PART_CHARS;
    const space = Math.max(text.lastIndexOf('\n', end), text.lastIndexOf(' ', end));
    if (space > at + INDEX_PART_CHARS / 2) end = space;
    parts.push(text.slice(at, end));
    at = end;
  }
  parts.push(text.slice(at));
  return parts;
}
