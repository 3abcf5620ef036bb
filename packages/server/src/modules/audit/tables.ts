import type { EpochMs } from '../../platform/db/schema.js';

/** One entry of a tenant's hash chain. Append-only (a trigger refuses UPDATE and DELETE). */
export interface AuditLogTable {
  id: string;
  tenant_id: string;
  seq: number;
  event_id: string;
  time: EpochMs;
  action: string;
  actor: string | null;
  actor_kind: string | null;
  resource_type: string | null;
  resource_id: string | null;
  ip: string | null;
  decision: 'allow' | 'deny';
  /** JSON array as text (not jsonb: the bytes hashed are the bytes kept). */
  policy_ids: string;
  reason: string | null;
  /** JSON object as text, like `policy_ids`. */
  details: string;
  prev_hash: string;
  hash: string;
  recorded_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    audit_log: AuditLogTable;
  }
}
