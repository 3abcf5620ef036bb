import type { Kysely, Transaction } from 'kysely';
import type { SqlDialect } from './dialect/index.js';
import { openPostgres } from './dialect/postgres.js';
import { openSqlite } from './dialect/sqlite.js';

export type { DialectName, SqlDialect } from './dialect/index.js';
// biome-ignore lint/suspicious/noExplicitAny: tables are declared per module; the shared handle is untyped.
export type Db = Kysely<any>;
// biome-ignore lint/suspicious/noExplicitAny: see Db
export type Tx = Transaction<any>;
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  db: Db;
  /** Everything that differs between SQLite and PostgreSQL (see dialect/index.ts). */
  dialect: SqlDialect;
  /** Server version string, for health reporting. */
  version(): Promise<string>;
  close(): Promise<void>;
}

export function openDatabase(opts: { url: string; sqlitePath: string; poolMax: number }): Database {
  if (opts.url) {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) throw new Error('LOAM_DATABASE_URL must start with postgres://');
    return openPostgres(opts.url, opts.poolMax);
  }
  return openSqlite(opts.sqlitePath);
}

/** Column type for JSON documents: jsonb on PostgreSQL, text on SQLite. */
export const jsonType = (dialect: SqlDialect) => dialect.jsonType;

/** Serializes a value for a JSON column (both dialects accept text). */
export const toJson = (value: unknown): string => JSON.stringify(value ?? null);

/** Reads a JSON column (both dialects hand back its text; already parsed values pass through). */
export function fromJson<T>(value: unknown): T {
  return (typeof value === 'string' ? JSON.parse(value) : value) as T;
}

/** Booleans are stored as 0/1 integers in both dialects. */
export const toBool = (v: unknown): boolean => v === 1 || v === true || v === '1';
