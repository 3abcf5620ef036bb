import type { Pagination } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import type { PageRequest } from '../../platform/http/pagination.js';
import type { ResourceRef } from '../../platform/access.js';
import { AppError } from '../../platform/errors.js';
import type { Platform } from '../../platform/module.js';
import { type LogSink, LogTail, type Tail } from './tail.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { traceIdOf } from '../../platform/tracing.js';
import {
  type ExecutionRow,
  type LogFilter,
  LogStore,
  type NewRecord,
  type RecordSource,
  type SettingsRow,
  type StoredRecord,
} from './store.js';
import { SEVERITY } from './wire.js';

/** The channel every Loam process LISTENs on (PostgreSQL) for batches the others stored. */
const CHANNEL = 'loam_logs';
const SETTINGS_CACHE_MS = 5_000;
const PURGE_PAGE = 10_000;
const DAY_MS = 86_400_000;

export interface EffectiveSettings {
  retentionDays: number;
  quotaPerMinute: number;
}

/** The data of an `llm.call.completed` event (llm/gateway.ts). */
interface LlmCallEvent {
  id: string;
  operation: string;
  streamed: boolean;
  provider: string | null;
  model: string;
  status: 'ok' | 'error';
  error_code: string | null;
  usage: { prompt_tokens: number; completion_tokens: number };
  latency_ms: number;
  attempts: number;
  privacy: { mode: string; entities: Record<string, number> };
}

/** The resource every log check names: the tenant's logs, or one execution's. */
const logsOf = (tenantId: string, executionId = '*'): ResourceRef => ({ type: 'Execution', id: executionId, tenantId });

/**
 * The observatory: log records and spans per execution, shipped over `POST /api/v1/logs` or
 * OTLP/HTTP, queried, tailed live (tail.ts), kept per tenant for its retention.
 */
export class ObservatoryService {
  readonly store: LogStore;
  readonly tail: LogTail;
  private readonly settingsCache = new Map<string, { until: number; value: EffectiveSettings }>();
  private stopListening: (() => Promise<void>) | undefined;
  /** Batches this process stored recently (its own notifications are not published twice). */
  private readonly own = new Set<string>();

  constructor(private readonly platform: Platform) {
    this.store = new LogStore(platform.database.db, platform.database.dialect);
    this.tail = new LogTail();
  }

  async start(): Promise<void> {
    this.stopListening = await this.platform.database.dialect.listen(
      CHANNEL,
      (payload) => this.onNotification(payload),
      (err) => this.platform.log.warn({ err: { message: err.message } }, 'log notification connection failed; reconnecting'),
    );
  }

  async stop(): Promise<void> {
    this.tail.closeAll();
    await this.stopListening?.();
  }

  /** Stores a batch of records (one transaction; a negative time means now); 429 beyond the tenant's quota. */
  async ingest(ctx: RequestContext, source: 'api' | 'otlp', records: NewRecord[]): Promise<number> {
    await this.platform.access.check(ctx, 'logs:write', logsOf(ctx.tenantId));
    if (records.length === 0) return 0;
    await this.spend(ctx.tenantId, records.length);
    await this.write(ctx.tenantId, source, records);
    return records.length;
  }

  /**
   * A call of the LLM gateway (its `llm.call.completed` event) as a record of the execution that
   * made it: the trace of the request's `traceparent`, else the request. Model, latency, tokens,
   * attempts and privacy counts; never prompt or answer text (the event has none). Not counted
   * against the tenant's log quota: Loam writes it, not the tenant.
   */
  async recordLlmCall(event: CloudEvent): Promise<void> {
    const d = event.data as LlmCallEvent;
    const traceId = traceIdOf(event.traceparent) ?? null;
    const tokens = `${d.usage.prompt_tokens}+${d.usage.completion_tokens} tokens`;
    await this.write(event.tenantid, 'loam', [
      {
        time: Date.parse(event.time),
        severity: d.status === 'ok' ? SEVERITY.info : SEVERITY.error,
        message: `LLM ${d.operation} ${d.provider ?? '-'}/${d.model}: ${d.error_code ?? d.status}, ${d.latency_ms} ms, ${tokens}, ${d.attempts} attempt(s)`,
        attributes: JSON.stringify({
          'loam.llm.call_id': d.id,
          'loam.llm.operation': d.operation,
          'loam.llm.streamed': d.streamed,
          'loam.llm.provider': d.provider,
          'loam.llm.model': d.model,
          'loam.llm.status': d.status,
          'loam.llm.error_code': d.error_code,
          'loam.llm.latency_ms': d.latency_ms,
          'loam.llm.attempts': d.attempts,
          'loam.llm.prompt_tokens': d.usage.prompt_tokens,
          'loam.llm.completion_tokens': d.usage.completion_tokens,
          'loam.llm.privacy_mode': d.privacy.mode,
          'loam.llm.privacy_entities': d.privacy.entities,
        }),
        executionId: traceId ?? event.correlationid ?? d.id,
        sessionId: null,
        workflowId: null,
        traceId,
        spanId: null,
        kind: 'log',
      },
    ]);
  }

  /** Stores one batch, tells the other processes, and feeds this process's live tails. */
  private async write(tenantId: string, source: RecordSource, records: NewRecord[]): Promise<void> {
    const batch = this.platform.ids.new('lgb');
    this.own.add(batch);
    if (this.own.size > 1000) this.own.delete(this.own.values().next().value as string);
    let from = Number.POSITIVE_INFINITY;
    let to = Number.NEGATIVE_INFINITY;
    const now = this.platform.clock.now();
    for (const r of records) {
      if (r.time < 0) r.time = now;
      if (r.time < from) from = r.time;
      if (r.time > to) to = r.time;
    }
    await this.platform.database.db.transaction().execute(async (tx) => {
      await this.store.insert(tx, tenantId, source, batch, records);
      await this.platform.database.dialect.notify(tx, CHANNEL, JSON.stringify([tenantId, batch, from, to]));
    });
    // Read back (with their ids) only when someone in this process tails the tenant's logs.
    if (this.tail.watching(tenantId)) await this.publish(tenantId, batch, from, to);
  }

  async query(
    ctx: RequestContext,
    filter: LogFilter,
    order: 'asc' | 'desc',
    page: PageRequest,
  ): Promise<{ items: StoredRecord[]; pagination: Pagination }> {
    await this.platform.access.check(ctx, 'logs:read', logsOf(ctx.tenantId, filter.executionId));
    return this.store.query(ctx.tenantId, filter, order, page, this.platform.signer);
  }

  async executions(
    ctx: RequestContext,
    filter: { sessionId?: string; workflowId?: string; failed?: boolean },
    page: PageRequest,
  ): Promise<{ items: ExecutionRow[]; pagination: Pagination }> {
    await this.platform.access.check(ctx, 'logs:read', logsOf(ctx.tenantId));
    return this.store.executions(ctx.tenantId, filter, page, this.platform.signer);
  }

  /** Hands every record stored from now on that matches `filter` to `sink`. */
  async subscribe(ctx: RequestContext, filter: LogFilter, sink: LogSink): Promise<Tail> {
    await this.platform.access.check(ctx, 'logs:read', logsOf(ctx.tenantId, filter.executionId));
    return this.tail.subscribe(ctx.tenantId, filter, sink);
  }

  async settings(ctx: RequestContext): Promise<EffectiveSettings> {
    await this.platform.access.check(ctx, 'logs:read', logsOf(ctx.tenantId));
    return this.effective(ctx.tenantId, true);
  }

  async putSettings(ctx: RequestContext, change: Partial<EffectiveSettings>): Promise<EffectiveSettings> {
    await this.platform.access.check(ctx, 'logs:admin', logsOf(ctx.tenantId));
    const current = (await this.store.settings(ctx.tenantId)) ?? { retentionDays: null, quotaPerMinute: null };
    const next: SettingsRow = {
      retentionDays: change.retentionDays ?? current.retentionDays,
      quotaPerMinute: change.quotaPerMinute ?? current.quotaPerMinute,
    };
    await this.store.putSettings(ctx.tenantId, next);
    this.settingsCache.delete(ctx.tenantId);
    return this.effective(ctx.tenantId, true);
  }

  /**
   * Deletes records (and spans) older than each tenant's retention; returns how many went. Run by
   * the `logs.purge` job.
   */
  async purge(): Promise<number> {
    const now = this.platform.clock.now();
    const overrides = await this.store.retentionOverrides();
    const scopes: [{ tenantId: string } | { except: string[] }, number][] = [
      ...overrides.map((o) => [{ tenantId: o.tenantId }, now - o.days * DAY_MS] as [{ tenantId: string }, number]),
      [{ except: overrides.map((o) => o.tenantId) }, now - this.platform.config.logRetentionDays * DAY_MS],
    ];
    let removed = 0;
    for (const [scope, cutoff] of scopes) {
      for (;;) {
        const n = await this.store.purge(scope, cutoff, PURGE_PAGE);
        removed += n;
        if (n < PURGE_PAGE) break;
      }
    }
    return removed;
  }

  private async effective(tenantId: string, fresh = false): Promise<EffectiveSettings> {
    const now = this.platform.clock.now();
    const hit = this.settingsCache.get(tenantId);
    if (!fresh && hit && hit.until > now) return hit.value;
    const row = await this.store.settings(tenantId);
    const value = {
      retentionDays: row?.retentionDays ?? this.platform.config.logRetentionDays,
      quotaPerMinute: row?.quotaPerMinute ?? this.platform.config.logQuotaPerMinute,
    };
    this.settingsCache.set(tenantId, { until: now + SETTINGS_CACHE_MS, value });
    return value;
  }

  /**
   * Takes `n` records from the tenant's per-minute quota, or 429. The bucket is in the database,
   * so every Loam process on it spends the same quota.
   */
  private async spend(tenantId: string, n: number): Promise<void> {
    const { quotaPerMinute } = await this.effective(tenantId);
    const now = this.platform.clock.now();
    const rate = quotaPerMinute / 60_000;
    if (n <= quotaPerMinute && (await this.store.takeQuota(tenantId, n, quotaPerMinute, rate, now)) !== undefined) return;
    const tokens = await this.store.quotaTokens(tenantId, quotaPerMinute, rate, now);
    const retryAfter = Math.max(1, Math.ceil((Math.min(n, quotaPerMinute) - tokens) / rate / 1000));
    throw new AppError(
      'quota_exceeded',
      429,
      `The tenant's log quota of ${quotaPerMinute} records per minute is spent; retry in ${retryAfter} s`,
      undefined,
      { 'retry-after': String(retryAfter) },
      { retry_after: retryAfter },
    );
  }

  private async publish(tenantId: string, batch: string, from: number, to: number): Promise<void> {
    try {
      this.tail.publish(tenantId, await this.store.batch(tenantId, batch, from, to));
    } catch (err) {
      this.platform.log.warn({ err }, 'could not read a log batch for the live tail');
    }
  }

  private onNotification(payload: string): void {
    try {
      const [tenantId, batch, from, to] = JSON.parse(payload) as [string, string, number, number];
      // This process's own batches were published already.
      if (this.tail.watching(tenantId) && !this.own.has(batch)) void this.publish(tenantId, batch, from, to);
    } catch (err) {
      this.platform.log.warn({ err }, 'malformed log notification');
    }
  }
}
