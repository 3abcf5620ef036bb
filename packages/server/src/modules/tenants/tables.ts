import type { EpochMs, JsonText } from '../../platform/db/schema.js';

export interface TenantsTable {
  id: string;
  name: string;
  /** Drives the /api/v1 rate limits (free, standard, enterprise). */
  tier: string;
  /** active | suspended | erasing (migration 002). */
  status: string;
  /** Quota limits, a JSON object (migration 002). */
  quotas: JsonText;
  created_at: EpochMs;
  updated_at: EpochMs | null;
}

/** Requests per tenant and UTC day, counted in memory and added here every few seconds. */
export interface TenantUsageDailyTable {
  tenant_id: string;
  day: string;
  requests: number;
  /** Successful anonymization requests. */
  anonymizations: number;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    tenants: TenantsTable;
    tenant_usage_daily: TenantUsageDailyTable;
  }
}
