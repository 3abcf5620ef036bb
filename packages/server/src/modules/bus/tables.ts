import type { EpochMs, JsonText } from '../../platform/db/schema.js';

/** One row per session: its head (newest position) and how far retention has purged it. */
export interface BusSessionsTable {
  tenant_id: string;
  id: string;
  head: number;
  purged_through: number;
  created_at: EpochMs;
  last_activity_at: EpochMs;
}

/** Every message, at its position in its session. */
export interface BusMessagesTable {
  tenant_id: string;
  session_id: string;
  position: number;
  id: string;
  type: string | null;
  data: JsonText;
  time: EpochMs;
}

/** A JSON Schema that messages of sessions named `prefix…` must match. */
export interface BusSchemasTable {
  tenant_id: string;
  prefix: string;
  schema: JsonText;
  created_at: EpochMs;
}

/** How long messages of sessions named `prefix…` are kept ('' = the tenant's default). */
export interface BusRetentionTable {
  tenant_id: string;
  prefix: string;
  max_age_ms: number | null;
  max_messages: number | null;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    bus_sessions: BusSessionsTable;
    bus_messages: BusMessagesTable;
    bus_schemas: BusSchemasTable;
    bus_retention: BusRetentionTable;
  }
}
