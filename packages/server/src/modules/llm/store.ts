import { type Kysely, sql } from 'kysely';
import { type Executor, fromJson, toJson } from '../../platform/db/index.js';
import type { Database } from '../../platform/db/schema.js';
import type { LlmCallsTable, LlmUsageDailyTable } from './tables.js';

export type PrivacyMode = 'off' | 'detect' | 'redact' | 'pseudonymize';

/** One gateway call as recorded. */
export interface LlmCall {
  id: string;
  tenantId: string;
  createdAt: number;
  day: string;
  principal: string;
  operation: 'generate' | 'chat' | 'embed';
  streamed: boolean;
  provider: string;
  model: string;
  status: 'ok' | 'error';
  errorCode: string | null;
  inputTokens: number;
  outputTokens: number;
  latencyMs: number;
  attempts: number;
  privacyMode: PrivacyMode;
  privacyCounts: Record<string, number>;
}

export interface DailyUsage {
  day: string;
  model: string;
  calls: number;
  inputTokens: number;
  outputTokens: number;
}

export interface TenantLlmSettings {
  privacyMode: PrivacyMode | null;
  dailyTokenQuota: number | null;
  updatedAt: number | null;
}

function toRow(c: LlmCall): LlmCallsTable {
  return {
    id: c.id,
    tenant_id: c.tenantId,
    created_at: c.createdAt,
    day: c.day,
    principal: c.principal,
    operation: c.operation,
    streamed: c.streamed ? 1 : 0,
    provider: c.provider,
    model: c.model,
    status: c.status,
    error_code: c.errorCode,
    input_tokens: c.inputTokens,
    output_tokens: c.outputTokens,
    latency_ms: c.latencyMs,
    attempts: c.attempts,
    privacy_mode: c.privacyMode,
    privacy_counts: toJson(c.privacyCounts),
  };
}

function toCall(row: LlmCallsTable): LlmCall {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    createdAt: Number(row.created_at),
    day: row.day,
    principal: row.principal,
    operation: row.operation as LlmCall['operation'],
    streamed: Number(row.streamed) === 1,
    provider: row.provider,
    model: row.model,
    status: row.status as LlmCall['status'],
    errorCode: row.error_code,
    inputTokens: Number(row.input_tokens),
    outputTokens: Number(row.output_tokens),
    latencyMs: Number(row.latency_ms),
    attempts: Number(row.attempts),
    privacyMode: row.privacy_mode as PrivacyMode,
    privacyCounts: fromJson<Record<string, number>>(row.privacy_counts),
  };
}

/** The only SQL on the llm module's tables; every query is scoped to one tenant. */
export class LlmStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Records calls and adds them to their days' totals (inside the caller's transaction), a few statements for any number. */
  async recordCalls(tx: Executor, calls: LlmCall[]): Promise<void> {
    // Seventeen columns a row: 200 rows stay far below either database's bound-parameter limit.
    for (let i = 0; i < calls.length; i += 200)
      await tx
        .insertInto('llm_calls')
        .values(calls.slice(i, i + 200).map(toRow))
        .execute();
    const totals = new Map<string, LlmUsageDailyTable>();
    for (const c of calls) {
      const key = JSON.stringify([c.tenantId, c.day, c.model]);
      const t = totals.get(key) ?? { tenant_id: c.tenantId, day: c.day, model: c.model, calls: 0, input_tokens: 0, output_tokens: 0 };
      t.calls++;
      t.input_tokens += c.inputTokens;
      t.output_tokens += c.outputTokens;
      totals.set(key, t);
    }
    for (const t of totals.values())
      await tx
        .insertInto('llm_usage_daily')
        .values(t)
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'day', 'model']).doUpdateSet({
            calls: sql`llm_usage_daily.calls + excluded.calls`,
            input_tokens: sql`llm_usage_daily.input_tokens + excluded.input_tokens`,
            output_tokens: sql`llm_usage_daily.output_tokens + excluded.output_tokens`,
          }),
        )
        .execute();
  }

  /** Tokens (input + output) the tenant used on `day`, all models. */
  async tokensOn(tenantId: string, day: string): Promise<number> {
    const row = await this.db
      .selectFrom('llm_usage_daily')
      .select((eb) => eb.fn.sum<number | string | null>(sql`input_tokens + output_tokens`).as('tokens'))
      .where('tenant_id', '=', tenantId)
      .where('day', '=', day)
      .executeTakeFirst();
    return Number(row?.tokens ?? 0);
  }

  /** Per day and model, days `from`..`to` inclusive (`YYYY-MM-DD`), oldest first. */
  async usage(tenantId: string, from: string, to: string): Promise<DailyUsage[]> {
    const rows = await this.db
      .selectFrom('llm_usage_daily')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('day', '>=', from)
      .where('day', '<=', to)
      .orderBy('day')
      .orderBy('model')
      .execute();
    return rows.map((r) => ({
      day: r.day,
      model: r.model,
      calls: Number(r.calls),
      inputTokens: Number(r.input_tokens),
      outputTokens: Number(r.output_tokens),
    }));
  }

  /** The tenant's most recent calls, newest first. */
  async recentCalls(tenantId: string, limit: number): Promise<LlmCall[]> {
    const rows = await this.db
      .selectFrom('llm_calls')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toCall);
  }

  async settings(tenantId: string): Promise<TenantLlmSettings> {
    const row = await this.db.selectFrom('llm_tenant_settings').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
    return {
      privacyMode: (row?.privacy_mode ?? null) as PrivacyMode | null,
      dailyTokenQuota: row?.daily_token_quota == null ? null : Number(row.daily_token_quota),
      updatedAt: row ? Number(row.updated_at) : null,
    };
  }

  async saveSettings(tx: Executor, tenantId: string, s: Omit<TenantLlmSettings, 'updatedAt'>, now: number): Promise<void> {
    const values = { privacy_mode: s.privacyMode, daily_token_quota: s.dailyTokenQuota, updated_at: now };
    await tx
      .insertInto('llm_tenant_settings')
      .values({ tenant_id: tenantId, ...values })
      .onConflict((oc) => oc.column('tenant_id').doUpdateSet(values))
      .execute();
  }
}
