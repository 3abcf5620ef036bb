import type { EpochMs, JsonText } from '../../platform/db/schema.js';

/** Every log record (and OpenTelemetry span), in the order stored (`seq`). */
export interface LogRecordsTable {
  seq: number;
  tenant_id: string;
  time: EpochMs;
  /** OpenTelemetry severity number: 1 trace, 5 debug, 9 info, 13 warn, 17 error, 21 fatal. */
  severity: number;
  message: string;
  attributes: JsonText;
  execution_id: string | null;
  session_id: string | null;
  workflow_id: string | null;
  trace_id: string | null;
  span_id: string | null;
  source: string;
  kind: string;
  /** The ingest call that stored it (other processes read a batch by it after a notification). */
  batch: string;
}

/** One row per execution: the span of its records and the count of each level (kept on ingest). */
export interface LogExecutionsTable {
  tenant_id: string;
  execution_id: string;
  session_id: string | null;
  workflow_id: string | null;
  first_time: EpochMs;
  last_time: EpochMs;
  n_trace: number;
  n_debug: number;
  n_info: number;
  n_warn: number;
  n_error: number;
  n_fatal: number;
}

/** A tenant's retention and ingest quota, when it differs from the configured defaults. */
export interface LogSettingsTable {
  tenant_id: string;
  retention_days: number | null;
  quota_per_minute: number | null;
}

/**
 * A tenant's ingest quota as a token bucket shared by every Loam process on the database:
 * `tokens` records left at `at` (ms), refilled at the quota's rate.
 */
export interface LogQuotaTable {
  tenant_id: string;
  tokens: number;
  at: number;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    log_records: LogRecordsTable;
    log_executions: LogExecutionsTable;
    log_settings: LogSettingsTable;
    log_quota: LogQuotaTable;
  }
}
