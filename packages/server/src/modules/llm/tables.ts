import type { EpochMs, JsonText } from '../../platform/db/schema.js';

/** One gateway call: what was asked of which model, what it cost, what privacy did (counts, no values). */
export interface LlmCallsTable {
  id: string;
  tenant_id: string;
  created_at: EpochMs;
  /** UTC day of the call, `YYYY-MM-DD`. */
  day: string;
  principal: string;
  /** `generate`, `chat` (OpenAI-compatible), `embed`. */
  operation: string;
  streamed: number;
  provider: string;
  model: string;
  status: string;
  error_code: string | null;
  input_tokens: number;
  output_tokens: number;
  latency_ms: number;
  attempts: number;
  privacy_mode: string;
  /** Entities found per type, e.g. {"EMAIL_ADDRESS":1}. */
  privacy_counts: JsonText;
}

/** Tokens and calls per tenant, UTC day and model (what quotas and usage reports read). */
export interface LlmUsageDailyTable {
  tenant_id: string;
  day: string;
  model: string;
  calls: number;
  input_tokens: number;
  output_tokens: number;
}

/** A tenant's gateway settings; null = the server default. */
export interface LlmTenantSettingsTable {
  tenant_id: string;
  privacy_mode: string | null;
  daily_token_quota: number | null;
  updated_at: EpochMs;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    llm_calls: LlmCallsTable;
    llm_usage_daily: LlmUsageDailyTable;
    llm_tenant_settings: LlmTenantSettingsTable;
  }
}
