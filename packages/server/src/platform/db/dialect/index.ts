import type { Database } from '../schema.js';
import type { CreateTableBuilder, Expression, Kysely, RawBuilder, SelectQueryBuilder, SqlBool, Transaction } from 'kysely';
import { sql } from 'kysely';

/**
 * Everything that differs between SQLite and PostgreSQL, behind one interface (as Kysely's own
 * dialects are): the rest of Loam asks the adapter and never which database it is. The two
 * implementations are `sqlite.ts` and `postgres.ts`; `dialect.test.ts` holds both to the same
 * conformance suite.
 */

export type DialectName = 'sqlite' | 'postgres';

/** What the job claim runs on, and what it yields: the ids of the due jobs, as a subquery. */
export type JobsExecutor = Kysely<Database> | Transaction<Database>;
export type DueJobs = Expression<string> | SelectQueryBuilder<Database, 'jobs', { id: string }>;

// Methods that run SQL over a caller's handle are generic over its database type (`Kysely<DB>`;
// a `Transaction<DB>` is one), so a module's typed handle passes through unchanged; the SQL they
// run names the tables the caller hands them.

/** The caller's database or transaction, whatever its tables (the union lets TypeScript infer `DB` from either). */
export type ExecutorOf<DB> = Kysely<DB> | Transaction<DB>;

/** A select over any tables, kept at its own type (row locks and outbox order add clauses only). */
export type Select<DB, TB extends keyof DB, O> = SelectQueryBuilder<DB, TB, O>;
/** A select over the event outbox (outbox ordering compares its `txid`, `seq` columns). */
export type OutboxSelect<O> = SelectQueryBuilder<Database, 'outbox_events', O>;

export type Scalar = string | number | boolean | null;
export type Bool = RawBuilder<SqlBool>;

/** The JSON expressions of one dialect over one JSON column (the record filter compiles onto them). */
export interface JsonExpressions {
  /** The value at `path`, as the dialect compares and sorts it (SQLite: SQL value; PostgreSQL: jsonb). */
  value(path: string[]): RawBuilder<unknown>;
  /** The sort key at `path`: `value()` with JSON null as SQL NULL, so nulls sort last on both dialects. */
  sortKey(path: string[]): RawBuilder<unknown>;
  /** A parameter comparable with `value()`, from what selecting `value()` returned (PostgreSQL: JSON text). */
  param(v: unknown): RawBuilder<unknown>;
  /** `value()` as a number (`numeric`) or a byte-ordered string, for MIN/MAX. */
  orderedScalar(path: string[], numeric: boolean): RawBuilder<unknown>;
  /** The JSON value of what selecting `value()` returned (`boolean`: the field holds booleans). */
  decode(raw: unknown, boolean: boolean): unknown;
  // Typed comparisons, each TRUE or FALSE (never NULL, so NOT behaves):
  /** The value at `path` equals one of `values` (null: missing or JSON null). */
  anyOf(path: string[], values: Scalar[]): Bool;
  range(path: string[], op: RawBuilder<unknown>, value: string | number): Bool;
  /** A string containing the substring, or an array holding the element. */
  contains(path: string[], value: string | number | boolean): Bool;
  startsWith(path: string[], value: string): Bool;
  exists(path: string[], exists: boolean): Bool;
}

/**
 * A full-text index over one text table (`key` primary key, `tenant_id`, `text`, `fts_rowid`).
 * SQLite keeps it in the FTS5 table `ftsTable`; PostgreSQL in a tsvector column `search`.
 */
export interface FullTextSpec {
  table: string;
  key: string;
  ftsTable: string;
  /**
   * An integer column of `table` counting the index rows of a document (SQLite). With it, a long
   * document is indexed in parts, one statement each, the event loop free between them (20 M
   * characters in one FTS5 insert held it for seconds); without it a document is one row.
   */
  parts?: string;
  /**
   * Words reduced to their English stem (Porter: `mounts`, `mounted` → `mount`) and diacritics
   * removed: SQLite's `porter unicode61` tokenizer, PostgreSQL's `english` configuration.
   * Without it words are only case-folded (`unicode61` / `simple`).
   */
  stemmed?: boolean;
}

/** How `searchFullText` matches: every word (default) or any, and the keys it may return. */
export interface FullTextOptions {
  /** Match documents holding any of the words (ranked by how well), not only all of them. */
  anyWord?: boolean;
  /**
   * A condition on the matching row of `spec.table` (aliased `t`; SQLite joins it by `fts_rowid`,
   * which must then be indexed): applied before ranking and the limit.
   */
  restrict?: Expression<SqlBool>;
  /**
   * Most matching rows pass `restrict` (and are the tenant's): SQLite then has FTS5 rank every
   * match and applies the condition in rank order until `limit` rows pass, which joins about
   * `limit` rows; otherwise (the default) every match is filtered first and only those kept are
   * ranked, which costs less when few pass. The rows returned are the same either way.
   */
  mostMatchesKept?: boolean;
}

/**
 * A nearest-neighbour index of the rows of `table` (primary key `key`; columns `vec_rowid` and
 * `vec_dims` integer, indexed together) by an embedding. SQLite keeps the vectors in sqlite-vec
 * tables named `<vecTable>_<dimensions>`.
 */
export interface VectorSpec {
  table: string;
  key: string;
  vecTable: string;
}

export interface VectorHit {
  id: string;
  /** Cosine similarity. */
  similarity: number;
}

export interface FullTextHit {
  id: string;
  score: number;
  snippet: string;
}

/** Rows for `bulkInsert`: per-row columns in order, and values shared by every row. */
export interface BulkInsert<T> {
  table: string;
  /** Column → value, the same on every row (null: SQL NULL). */
  constants: Record<string, string | number | null>;
  /**
   * Per-row columns in the order of each row's values; `json` values are JSON text, never the
   * JSON `null` (PostgreSQL's jsonb_to_recordset reads that as SQL NULL).
   */
  columns: Record<string, 'text' | 'integer' | 'bigint' | 'json'>;
  /** Taken one at a time (may be lazy); `values` gives each one's column values in order. */
  rows: Iterable<T>;
  values(row: T): readonly (string | number)[];
}

/** A position in the event outbox. */
export interface OutboxPosition {
  txid: number;
  seq: number;
}

export interface SqlDialect {
  /** For health reports only: code outside this folder never branches on it. */
  readonly name: DialectName;

  // ---- schema (migrations receive the dialect) ------------------------------------------------
  /** Column type for JSON documents: jsonb on PostgreSQL, text on SQLite. */
  readonly jsonType: 'jsonb' | 'text';
  /** Adds an auto-incrementing integer primary key (bigserial / integer autoincrement). */
  serialPrimaryKey<TB extends string, C extends string, CN extends string>(
    table: CreateTableBuilder<TB, C>,
    column: CN,
  ): CreateTableBuilder<TB, C | CN>;
  /** Default for an outbox `txid` column: the writing transaction's id (PostgreSQL), else 0. */
  transactionIdDefault(): number | RawBuilder<unknown>;
  /** Makes `table` append-only: updates and deletes fail (triggers). */
  createAppendOnlyTriggers<DB>(db: ExecutorOf<DB>, table: string): Promise<void>;
  /** Refreshes the planner's statistics of `table` (ANALYZE), after an index was created on it or a large load. */
  analyzeAfterIndex<DB>(db: ExecutorOf<DB>, table: string): Promise<void>;

  // ---- JSON -----------------------------------------------------------------------------------
  json(column: string): JsonExpressions;
  /** A JSON path lookup as text (`doc #>> '{a,b}'` / `json_extract(doc,'$."a"."b"')`), parameterized. */
  jsonText(column: Expression<unknown>, path: string[]): RawBuilder<string | null>;
  /** The JSON array in `column` holds the string `value`. */
  jsonArrayContains(column: string, value: string): Bool;

  // ---- full text ------------------------------------------------------------------------------
  createFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec): Promise<void>;
  /**
   * Rewrites the full-text indexes so that rows deleted from them leave no trace in the index's
   * storage (an erasure): SQLite's FTS5 keeps a deleted row's terms in old segments until a merge,
   * and its vector tables (sqlite-vec) hold no tenant id: vectors no row points at are deleted.
   */
  purgeSearchIndexes<DB>(db: ExecutorOf<DB>): Promise<void>;
  /** (Re)indexes one document; its row in `spec.table` must exist. */
  putFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, tenantId: string, key: string, text: string): Promise<void>;
  /** Removes a document's index entry (PostgreSQL's goes with its row). */
  removeFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, key: string): Promise<void>;
  /** Drops the whole index (to create it anew with other settings; every row must be indexed again). */
  dropFullText<DB>(db: ExecutorOf<DB>, spec: FullTextSpec): Promise<void>;
  /**
   * How many indexed documents of every tenant contain `word`, counted up to `cap` (a cheap
   * document frequency: reading stops at `cap`). Counts over the whole index, as BM25's IDF does.
   */
  countFullTextMatches<DB>(db: ExecutorOf<DB>, spec: FullTextSpec, word: string, cap: number): Promise<number>;
  /**
   * `column` contains every one of `words` as a substring, ignoring case: a filter over rows other
   * conditions already narrowed (log search, where indexing each record would slow ingest).
   */
  containsWords(column: string, words: string[]): Bool;
  /** Documents matching every word, best first, with a snippet marked `[…]`. */
  searchFullText<DB>(
    db: ExecutorOf<DB>,
    spec: FullTextSpec,
    tenantId: string,
    words: string[],
    limit: number,
    opts?: FullTextOptions,
  ): Promise<FullTextHit[]>;

  // ---- vectors --------------------------------------------------------------------------------
  /** The vector index in use (`sqlite-vec v0.1.9`), or undefined: callers rank vectors exactly. */
  readonly vectorIndex: string | undefined;
  /** Stores a row's vector in the index (no-op without one). */
  putVector<DB>(db: ExecutorOf<DB>, spec: VectorSpec, key: string, vector: number[]): Promise<void>;
  /** Removes a row's vector from the index (no-op without one). */
  removeVector<DB>(db: ExecutorOf<DB>, spec: VectorSpec, key: string): Promise<void>;
  /**
   * The `limit` rows nearest to `vector` by cosine among those `restrict` admits (a condition on
   * the row, aliased `t`, applied before ranking); only when `vectorIndex` is set.
   */
  searchVectors<DB>(
    db: ExecutorOf<DB>,
    spec: VectorSpec,
    vector: number[],
    limit: number,
    restrict: Expression<SqlBool>,
  ): Promise<VectorHit[]>;

  // ---- locks ----------------------------------------------------------------------------------
  /** Whether `forUpdate`/`forShare` lock rows (PostgreSQL). SQLite runs one writer at a time. */
  readonly rowLocks: boolean;
  forUpdate<DB, TB extends keyof DB, O>(query: Select<DB, TB, O>): Select<DB, TB, O>;
  forShare<DB, TB extends keyof DB, O>(query: Select<DB, TB, O>): Select<DB, TB, O>;
  /** Serializes the rest of transaction `tx` against others taking the same key. */
  advisoryTransactionLock<DB>(tx: ExecutorOf<DB>, key: string): Promise<void>;
  /** Runs `fn` holding the migration lock across processes, on one connection. */
  withMigrationLock<DB, T>(db: Kysely<DB>, fn: (db: Kysely<DB>) => Promise<T>): Promise<T>;

  // ---- job queue and outbox -------------------------------------------------------------------
  /**
   * The ids of up to `n` due jobs of `kinds` (queued and due, or running with an expired lease),
   * oldest first, as a subquery for `where('id', 'in', …)`; PostgreSQL skips rows others locked.
   */
  dueJobs(db: JobsExecutor, kinds: string[], now: number, n: number): DueJobs;
  /** Outbox events after `position` (before it when `reverse`: a list's previous page). */
  outboxAfter<O>(query: OutboxSelect<O>, position: OutboxPosition, reverse?: boolean): OutboxSelect<O>;
  /** Outbox events in delivery order (newest first when `reverse`). */
  outboxOrder<O>(query: OutboxSelect<O>, reverse?: boolean): OutboxSelect<O>;
  /** The txid below which every event is committed (PostgreSQL), or null when all are. */
  outboxVisibleBelow(): RawBuilder<number> | null;
  /** The columns that order the outbox (what an index for reading it in order after a prefix needs). */
  readonly outboxPositionColumns: readonly ('txid' | 'seq')[];

  // ---- bulk insert and secrets ----------------------------------------------------------------
  /** Inserts many rows in the caller's transaction `tx`, the fastest way the driver has. */
  bulkInsert<DB, T>(tx: ExecutorOf<DB>, insert: BulkInsert<T>): Promise<void>;
  /**
   * The server secret when none is configured: a key file in the data directory (SQLite), or one
   * row in the database that every PostgreSQL instance shares. `generate` makes a new one.
   */
  storedSecret(db: Kysely<Database>, opts: { dataDir: string; generate: () => string; warn: (msg: string) => void }): Promise<string>;

  // ---- notifications between processes --------------------------------------------------------
  /**
   * Tells every process listening on `channel` (`listen`) when `tx` commits (PostgreSQL NOTIFY).
   * SQLite: nothing to do (one process serves a database file).
   */
  notify<DB>(tx: ExecutorOf<DB>, channel: string, payload: string): Promise<void>;
  /**
   * Calls `onPayload` for every notification on `channel`, from any process, over a connection of
   * its own (reconnecting after a failure). Returns what stops listening. SQLite: never called back.
   */
  listen(channel: string, onPayload: (payload: string) => void, onError?: (err: Error) => void): Promise<() => Promise<void>>;

  // ---- process liveness (platform/liveness.ts) ------------------------------------------------
  /**
   * Marks the process `id` as alive for as long as it runs (PostgreSQL: a session advisory lock on
   * a connection of its own, which the server releases when the process dies). Returns the release.
   */
  holdPresence(id: string, onError?: (err: Error) => void): Promise<() => Promise<void>>;
  /** True when process `id` no longer holds its presence, false when it does, undefined when the database cannot tell (SQLite). */
  presenceGone<DB>(db: Kysely<DB>, id: string): Promise<boolean | undefined>;
}

/** A driver opened behind its dialect. */
export interface OpenedDatabase {
  db: Kysely<Database>;
  dialect: SqlDialect;
  /** Server version string, for health reporting. */
  version(): Promise<string>;
  close(): Promise<void>;
}

// ---- helpers shared by the implementations ------------------------------------------------------

export const joinOr = (parts: Bool[]): Bool => (parts.length === 1 ? parts[0] : sql<SqlBool>`(${sql.join(parts, sql` OR `)})`);

export function groupScalars(values: Scalar[]) {
  return {
    strings: values.filter((v): v is string => typeof v === 'string'),
    numbers: values.filter((v): v is number => typeof v === 'number'),
    booleans: [...new Set(values.filter((v): v is boolean => typeof v === 'boolean'))],
    hasNull: values.includes(null),
  };
}

/** Table and trigger names are spliced into DDL: only plain identifiers are accepted. */
export function identifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain identifier: ${name}`);
  return name;
}
