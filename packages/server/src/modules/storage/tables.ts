import type { EpochMs } from '../../platform/db/schema.js';

/** One row per stored object: its owner and size (migration 001). */
export interface StorageObjectsTable {
  key: string;
  tenant_id: string;
  content_type: string;
  /** Null until the object has arrived (a key issued with an upload URL). */
  size: number | null;
  etag: string | null;
  created_at: EpochMs;
  uploaded_at: EpochMs | null;
}

/** Bytes stored per tenant, moved by every write (migration 002). */
export interface StorageUsageTable {
  tenant_id: string;
  bytes: number;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    storage_objects: StorageObjectsTable;
    storage_usage: StorageUsageTable;
  }
}
