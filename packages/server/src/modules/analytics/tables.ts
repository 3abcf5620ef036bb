import type { EpochMs, JsonText } from '../../platform/db/schema.js';

/** Custom events a tenant records (quality scores, lineage notes, …), newest by id. */
export interface AnalyticsEventsTable {
  id: string;
  tenant_id: string;
  type: string;
  subject: string | null;
  value: number | null;
  properties: JsonText;
  time: EpochMs;
  created_by: string;
  created_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    analytics_events: AnalyticsEventsTable;
  }
}
