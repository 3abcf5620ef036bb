import type { EpochMs } from '../../platform/db/schema.js';

export interface TenantsTable {
  id: string;
  name: string;
  /** Drives the /api/v1 rate limits (free, pro, enterprise, …). */
  tier: string;
  created_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    tenants: TenantsTable;
  }
}
