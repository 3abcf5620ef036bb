import type { ColumnType, Generated } from 'kysely';

/**
 * How values are stored, the same on both dialects (the PostgreSQL driver is set up to read them
 * back as SQLite does; see the dialect folder):
 * - times are epoch milliseconds in `bigint` columns, read as numbers (`EpochMs`);
 * - JSON is `jsonb` on PostgreSQL and `text` on SQLite, read back as its text (`JsonText`;
 *   `toJson` / `fromJson` convert);
 * - flags are integers 0 / 1 (`Flag`).
 * Each store converts between these and its domain values in one place (its row mapper).
 */
export type EpochMs = number;
export type JsonText = string;
export type Flag = number;

/**
 * Every table of Loam, as Kysely sees it: `Kysely<Database>`. The platform declares its own
 * tables below; each module declares its tables in its `tables.ts` and merges them in,
 *
 * ```ts
 * declare module '../../platform/db/schema.js' {
 *   interface Database { widgets: WidgetsTable }
 * }
 * ```
 *
 * so the type is composed without the platform importing any module.
 */
export interface Database {
  outbox_events: OutboxEventsTable;
  outbox_cursors: OutboxCursorsTable;
  jobs: JobsTable;
  idempotency_keys: IdempotencyKeysTable;
  data_keys: DataKeysTable;
  loam_settings: LoamSettingsTable;
  loam_processes: LoamProcessesTable;
  /** Kysely's record of applied migrations (`<module>/<name>`), read to skip a migration pass. */
  loam_migrations: { name: string; timestamp: string };
}

export interface OutboxEventsTable {
  seq: Generated<number>;
  /** The writing transaction's id on PostgreSQL (commit order), 0 on SQLite. */
  txid: Generated<number>;
  id: string;
  tenant_id: string;
  type: string;
  source: string;
  subject: string;
  time: EpochMs;
  data: JsonText;
  correlation_id: string | null;
  traceparent: string | null;
}

/** Every running Loam process that may hold a lease (platform/liveness.ts). */
export interface LoamProcessesTable {
  id: string;
  host: string;
  pid: number;
  /** The process's start time as the kernel counts it (Linux /proc/<pid>/stat), '' where unknown. */
  started: string;
  created_at: EpochMs;
}

export interface OutboxCursorsTable {
  subscriber: string;
  txid: number;
  seq: number;
  lease_owner: string | null;
  lease_until: EpochMs | null;
  retry_at: ColumnType<EpochMs, EpochMs | undefined, EpochMs>;
  failures: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  updated_at: EpochMs;
}

export interface JobsTable {
  id: string;
  tenant_id: string | null;
  kind: string;
  key: string | null;
  payload: JsonText;
  status: 'queued' | 'running' | 'succeeded' | 'dead';
  attempts: ColumnType<number, number | undefined, number>;
  max_attempts: number;
  run_at: EpochMs;
  lease_owner: string | null;
  lease_until: EpochMs | null;
  last_error: string | null;
  result: JsonText | null;
  created_at: EpochMs;
  updated_at: EpochMs;
  finished_at: EpochMs | null;
}

export interface IdempotencyKeysTable {
  tenant_id: string;
  principal: string;
  key: string;
  request_hash: string;
  status: number | null;
  body: string | null;
  headers: JsonText | null;
  created_at: EpochMs;
  expires_at: EpochMs;
}

export interface DataKeysTable {
  id: string;
  tenant_id: string;
  scope: string;
  wrapped: string;
  provider: string;
  created_at: EpochMs;
  rotated_at: EpochMs | null;
}

/** Server-wide settings (the generated server secret on PostgreSQL). */
export interface LoamSettingsTable {
  name: string;
  value: string;
}
