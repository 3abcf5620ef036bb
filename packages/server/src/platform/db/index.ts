import type { Kysely, LogEvent, Transaction } from 'kysely';
import type { SqlDialect } from './dialect/index.js';
import { openPostgres } from './dialect/postgres.js';
import { openSqlite } from './dialect/sqlite.js';

export type { DialectName, SqlDialect } from './dialect/index.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
/** The database, typed by every module's tables (schema.ts). */
export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Anything queries can run on: the database or an open transaction. */
export type Executor = Db | Tx;

/** What a transaction wrote that this process's loops wait for (the job workers, the relay, the webhook dispatcher). */
export type CommitWake = 'jobs' | 'events' | 'deliveries';
const commitWakes = new WeakMap<object, Set<CommitWake>>();

/**
 * Notes that `tx` wrote work for the `what` loop, which `platform.transaction` wakes once `tx`
 * commits (a commit that wrote none of it wakes nothing: every write used to cost a job claim and
 * a webhook claim). False when `tx` is not a transaction: the write is committed, wake now.
 */
export function wakeOnCommit(tx: Executor, what: CommitWake): boolean {
  if (!tx.isTransaction) return false;
  const wakes = commitWakes.get(tx);
  if (wakes) wakes.add(what);
  else commitWakes.set(tx, new Set([what]));
  return true;
}

/** What the transaction `tx` noted with {@link wakeOnCommit}. */
export function commitWakesOf(tx: Executor): ReadonlySet<CommitWake> | undefined {
  return commitWakes.get(tx);
}

export interface DatabaseHandle {
  db: Db;
  /** Everything that differs between SQLite and PostgreSQL (see dialect/index.ts). */
  dialect: SqlDialect;
  /** Server version string, for health reporting. */
  version(): Promise<string>;
  close(): Promise<void>;
}

export function openDatabase(opts: { url: string; sqlitePath: string; poolMax: number; log?: (event: LogEvent) => void }): DatabaseHandle {
  if (opts.url) {
    if (!/^postgres(ql)?:\/\//.test(opts.url)) throw new Error('LOAM_DATABASE_URL must start with postgres://');
    return openPostgres(opts.url, opts.poolMax, opts.log);
  }
  return openSqlite(opts.sqlitePath, opts.log);
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
