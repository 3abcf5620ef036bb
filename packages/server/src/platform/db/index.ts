import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type Expression,
  Kysely,
  PostgresDialect,
  type RawBuilder,
  type SqliteDatabase,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  type SqliteStatement,
  type Transaction,
  sql,
} from 'kysely';
import { createRequire } from 'node:module';
import type pg from 'pg';

export type Dialect = 'sqlite' | 'postgres';
// biome-ignore lint/suspicious/noExplicitAny: tables are declared per module; the shared handle is untyped.
export type Db = Kysely<any>;
// biome-ignore lint/suspicious/noExplicitAny: see Db
export type Tx = Transaction<any>;
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  dialect: Dialect;
  /** Server version string, for health reporting. */
  version(): Promise<string>;
  close(): Promise<void>;
  /**
   * SQLite only: the one connection Kysely uses, for prepared statements in hot bulk paths.
   * Statements run on it inside a `db.transaction()` callback belong to that transaction.
   */
  sqlite?: SQLite.Database;
}

export function openDatabase(opts: { url: string; sqlitePath: string; poolMax: number }): Database {
  if (opts.url) {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) throw new Error('LOAM_DATABASE_URL must start with postgres://');
    // Loaded only for PostgreSQL, so the embedded default starts without the driver.
    const pgDriver = createRequire(import.meta.url)('pg') as typeof pg;
    // int8 (OID 20) as number: ids are strings and timestamps are epoch milliseconds, far below 2^53.
    // json (114) and jsonb (3802) as text, as SQLite returns them, so `fromJson` reads both the
    // same way (a parsed JSON string such as "done" could not be told apart from JSON text).
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        oid === 20
          ? (v: string) => Number(v)
          : oid === 114 || oid === 3802
            ? (v: string) => v
            : pgDriver.types.getTypeParser(oid, format as 'text'),
    };
    const pool = new pgDriver.Pool({ connectionString: opts.url, max: opts.poolMax, types });
    pool.on('error', () => {}); // idle client errors surface on the next query instead of crashing
    const db = new Kysely({ dialect: new PostgresDialect({ pool }) });
    return {
      db,
      dialect: 'postgres',
      version: async () => (await sql<{ v: string }>`select current_setting('server_version') as v`.execute(db)).rows[0].v,
      close: () => db.destroy(),
    };
  }
  mkdirSync(dirname(opts.sqlitePath), { recursive: true });
  const sqlite = new SQLite(opts.sqlitePath);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely({ dialect: new ImmediateSqliteDialect({ database: withStatementCache(sqlite) }) });
  return {
    db,
    dialect: 'sqlite',
    version: async () => `sqlite ${(sqlite.prepare('select sqlite_version() as v').get() as { v: string }).v}`,
    close: () => db.destroy(),
    sqlite,
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

/** Column type for JSON documents: jsonb on PostgreSQL, text on SQLite. */
export const jsonType = (dialect: Dialect) => (dialect === 'postgres' ? 'jsonb' : 'text');

/** Serializes a value for a JSON column (both dialects accept text). */
export const toJson = (value: unknown): string => JSON.stringify(value ?? null);

/** Reads a JSON column (both dialects hand back its text; already parsed values pass through). */
export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** A JSON path lookup as text (`doc->>'a'->>'b'` / `json_extract(doc,'$.a.b')`), parameterized. */
export function jsonText(dialect: Dialect, column: Expression<unknown>, path: string[]): RawBuilder<string | null> {
  if (dialect === 'postgres') return sql<string | null>`(${column} #>> ${sql.val(path)}::text[])`;
  const jsonPath = `$${path.map((p) => `."${p.replaceAll('"', '""')}"`).join('')}`;
  return sql<string | null>`json_extract(${column}, ${jsonPath})`;
}

/** Booleans are stored as 0/1 integers in both dialects. */
export const toBool = (v: unknown): boolean => v === 1 || v === true || v === '1';

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
