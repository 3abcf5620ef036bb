import type { LlmPrivacyReport, LlmSettings, LlmSettingsUpdate, LlmUsageReport } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import { type PiiScanner, type Shielded, shieldMessages, shieldTexts } from './privacy.js';
import { type CallOptions, type LlmService, attemptsOf } from './service.js';
import { CallRecorder } from './recorder.js';
import type { LlmCall, LlmStore, PrivacyMode, TenantLlmSettings } from './store.js';
import type { ChatMessage, ChatResult, EmbedResult } from './types.js';

export interface GatewayChatInput {
  /** A model id or `provider/model`. */
  model?: string;
  /** Names the provider for `model` (no fallback). */
  provider?: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  /** Asked for by the call; the tenant's setting is a floor (see `privacyModeOf`). */
  privacyMode?: PrivacyMode;
}

export interface GatewayCallOptions extends CallOptions {
  /** How the call came in, as recorded: the generate API or the OpenAI-compatible route. */
  operation: 'generate' | 'chat';
}

export type GatewayChatResult = ChatResult & { privacy: LlmPrivacyReport };
export type GatewayStreamPart = { type: 'text-delta'; text: string } | ({ type: 'finish' } & Omit<GatewayChatResult, 'text'>);

export interface GatewayStream {
  provider: string;
  model: string;
  privacy: LlmPrivacyReport;
  parts: AsyncIterable<GatewayStreamPart>;
}

const MODES: readonly PrivacyMode[] = ['off', 'detect', 'redact', 'pseudonymize'];
/** How much a mode protects: a call may choose a mode at least as protective as its tenant's. */
const STRENGTH: Record<PrivacyMode, number> = { off: 0, detect: 1, redact: 2, pseudonymize: 2 };
const DAY_MS = 86_400_000;
/** How long an instance trusts its copy of a tenant's settings (changes through another instance). */
const SETTINGS_TTL_MS = 5_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

interface Prepared {
  mode: PrivacyMode;
  shielded: Pick<Shielded, 'counts' | 'restorer'>;
  messages: ChatMessage[];
}
const unshielded = (mode: PrivacyMode, messages: ChatMessage[]): Prepared => ({
  mode,
  shielded: { counts: {}, restorer: undefined },
  messages,
});

/**
 * The LLM gateway for tenants: privacy on the way out (and back, for pseudonyms), daily token
 * quotas, and one recorded row (plus an `llm.call.completed` event, audited) per call, on top of
 * the provider layer's routing and resilience.
 */
export class LlmGateway {
  private readonly recorder: CallRecorder;
  private readonly settingsCache = new Map<string, { settings: TenantLlmSettings; until: number }>();

  constructor(
    private readonly platform: Platform,
    readonly llm: LlmService,
    private readonly store: LlmStore,
    /** The privacy engine, looked up per call (the privacy module may be built later). */
    private readonly scanner: () => PiiScanner | undefined,
  ) {
    this.recorder = new CallRecorder(platform, store);
  }

  /** Writes the calls recorded so far (they are written in batches, off the answer's path). */
  flush(): Promise<void> {
    return this.recorder.flush();
  }

  /** Models clients may name, for `GET /v1/models`. */
  models(): { id: string; provider: string }[] {
    return this.llm.models();
  }

  async generate(ctx: RequestContext, input: GatewayChatInput, opts: GatewayCallOptions): Promise<GatewayChatResult> {
    const prepared = this.prepare(ctx, input);
    const { mode, shielded, messages } = prepared instanceof Promise ? await prepared : prepared;
    const privacy = { mode, entities: shielded.counts };
    const started = { at: this.platform.clock.now() };
    let result: ChatResult;
    try {
      result = await this.llm.chat({ ...this.request(input), messages }, opts);
    } catch (err) {
      this.recordFailure(ctx, input, opts.operation, false, privacy, started.at, err);
      throw err;
    }
    const text = shielded.restorer ? shielded.restorer.restore(result.text) : result.text;
    this.record(ctx, opts.operation, false, result, privacy, 'ok');
    return { ...result, text, privacy };
  }

  /**
   * A streamed answer; resolves once the provider accepted the request. Pseudonyms are restored
   * in the deltas (a token split across deltas too); the call is recorded when the stream ends.
   */
  async stream(ctx: RequestContext, input: GatewayChatInput, opts: GatewayCallOptions): Promise<GatewayStream> {
    const prepared = this.prepare(ctx, input);
    const { mode, shielded, messages } = prepared instanceof Promise ? await prepared : prepared;
    const privacy = { mode, entities: shielded.counts };
    const startedAt = this.platform.clock.now();
    let upstream: Awaited<ReturnType<LlmService['streamChat']>>;
    try {
      upstream = await this.llm.streamChat({ ...this.request(input), messages }, opts);
    } catch (err) {
      this.recordFailure(ctx, input, opts.operation, true, privacy, startedAt, err);
      throw err;
    }
    const self = this;
    const restorer = shielded.restorer;
    const parts = (async function* (): AsyncGenerator<GatewayStreamPart> {
      let recorded = false;
      const failed = (err: unknown) => {
        recorded = true;
        return self.recordFailure(ctx, { ...input, model: upstream.model }, opts.operation, true, privacy, startedAt, err);
      };
      try {
        for await (const part of upstream.parts) {
          if (part.type === 'text-delta') {
            const text = restorer ? restorer.push(part.text) : part.text;
            if (text) yield { type: 'text-delta', text };
            continue;
          }
          const rest = restorer?.flush();
          if (rest) yield { type: 'text-delta', text: rest };
          recorded = true;
          self.record(ctx, opts.operation, true, part, privacy, 'ok');
          yield { ...part, privacy };
        }
      } catch (err) {
        failed(err);
        throw err;
      } finally {
        // A consumer that stopped reading: the call still counts (with what is known).
        if (!recorded) failed(undefined);
      }
    })();
    return { provider: upstream.provider, model: upstream.model, privacy, parts };
  }

  /** Vectors for `input`; privacy applies to the texts (pseudonyms are not restored: vectors hold none). */
  async embed(
    ctx: RequestContext,
    input: { model?: string; input: string[]; privacyMode?: PrivacyMode },
    opts: CallOptions = {},
  ): Promise<EmbedResult & { privacy: LlmPrivacyReport }> {
    const settings = await this.checkQuota(ctx);
    const mode = this.privacyModeOf(input.privacyMode, settings.privacyMode);
    const shielded = (await this.shield(mode, (scanner) => shieldTexts(scanner, ctx.tenantId, mode, input.input))) ?? {
      texts: input.input,
      counts: {},
    };
    const privacy = { mode, entities: shielded.counts };
    const startedAt = this.platform.clock.now();
    try {
      const result = await this.llm.embed({ model: input.model, input: shielded.texts }, opts);
      const usage = { inputTokens: result.usage.inputTokens, outputTokens: 0, totalTokens: result.usage.inputTokens };
      this.record(ctx, 'embed', false, { ...result, usage }, privacy, 'ok');
      return { ...result, privacy };
    } catch (err) {
      this.recordFailure(ctx, { model: input.model, messages: [] }, 'embed', false, privacy, startedAt, err);
      throw err;
    }
  }

  /** Tokens and calls per UTC day and model, `from`..`to` inclusive (default: the last 30 days). */
  async usage(ctx: RequestContext, query: { from?: string; to?: string } = {}): Promise<LlmUsageReport> {
    const now = this.platform.clock.now();
    const to = query.to ?? dayOf(now);
    const from = query.from ?? dayOf(Date.parse(`${to}T00:00:00Z`) - 29 * DAY_MS);
    if (from > to)
      throw new AppError('invalid_param', 400, '`from` is after `to`', [{ field: 'from', code: 'invalid_value', message: 'after to' }]);
    await this.recorder.flush();
    const rows = await this.store.usage(ctx.tenantId, from, to);
    const days = rows.map((r) => ({
      day: r.day,
      model: r.model,
      calls: r.calls,
      prompt_tokens: r.inputTokens,
      completion_tokens: r.outputTokens,
      total_tokens: r.inputTokens + r.outputTokens,
    }));
    const totals = { calls: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
    for (const d of days) {
      totals.calls += d.calls;
      totals.prompt_tokens += d.prompt_tokens;
      totals.completion_tokens += d.completion_tokens;
      totals.total_tokens += d.total_tokens;
    }
    return { from, to, days, totals };
  }

  /** The calls recorded for the tenant, newest first (the observatory's feed until it has its own). */
  async recentCalls(ctx: RequestContext, limit = 50): Promise<LlmCall[]> {
    await this.recorder.flush();
    return this.store.recentCalls(ctx.tenantId, limit);
  }

  async settings(ctx: RequestContext): Promise<LlmSettings> {
    const s = await this.tenantSettings(ctx.tenantId);
    await this.recorder.flush();
    const tokensToday = await this.store.tokensOn(ctx.tenantId, dayOf(this.platform.clock.now()));
    return {
      privacy_mode: s.privacyMode,
      daily_token_quota: s.dailyTokenQuota,
      effective: {
        privacy_mode: s.privacyMode ?? this.defaultMode(),
        daily_token_quota: this.quotaOf(s),
      },
      tokens_today: tokensToday,
    };
  }

  async updateSettings(ctx: RequestContext, patch: LlmSettingsUpdate): Promise<LlmSettings> {
    const current = await this.store.settings(ctx.tenantId);
    this.settingsCache.delete(ctx.tenantId);
    const next = {
      privacyMode: patch.privacy_mode === undefined ? current.privacyMode : patch.privacy_mode,
      dailyTokenQuota: patch.daily_token_quota === undefined ? current.dailyTokenQuota : patch.daily_token_quota,
    };
    await this.platform.transaction(async (tx) => {
      await this.store.saveSettings(tx, ctx.tenantId, next, this.platform.clock.now());
      await this.platform.events.emit(
        tx,
        'llm.settings.updated',
        ctx.tenantId,
        { actor: ctx.principal.subject, privacy_mode: next.privacyMode, daily_token_quota: next.dailyTokenQuota },
        { tenantId: ctx.tenantId, correlationId: ctx.requestId, traceparent: ctx.traceparent },
      );
    });
    return this.settings(ctx);
  }

  // ---- internals

  private defaultMode(): PrivacyMode {
    const m = this.platform.config.llmPrivacyMode as PrivacyMode;
    return MODES.includes(m) ? m : 'off';
  }

  /** The call's mode, unless it protects less than the tenant's (or server's) setting. */
  private privacyModeOf(asked: PrivacyMode | undefined, tenant: PrivacyMode | null): PrivacyMode {
    const floor = tenant ?? this.defaultMode();
    if (!asked) return floor;
    return STRENGTH[asked] >= STRENGTH[floor] ? asked : floor;
  }

  /** The tenant's settings if this instance's copy is fresh. */
  private cachedSettings(tenantId: string, now: number): TenantLlmSettings | undefined {
    const cached = this.settingsCache.get(tenantId);
    return cached && cached.until > now ? cached.settings : undefined;
  }

  private async tenantSettings(tenantId: string): Promise<TenantLlmSettings> {
    const now = this.platform.clock.now();
    const cached = this.cachedSettings(tenantId, now);
    if (cached) return cached;
    const settings = await this.store.settings(tenantId);
    this.settingsCache.set(tenantId, { settings, until: now + SETTINGS_TTL_MS });
    return settings;
  }

  /** The tenant's daily token quota, else the server's (0: none). */
  private quotaOf(settings: TenantLlmSettings): number {
    return settings.dailyTokenQuota ?? this.platform.config.llmDailyTokenQuota;
  }

  private async checkQuota(ctx: RequestContext) {
    const settings = await this.tenantSettings(ctx.tenantId);
    const quota = this.quotaOf(settings);
    if (quota > 0) {
      const now = this.platform.clock.now();
      const day = dayOf(now);
      const used = (await this.store.tokensOn(ctx.tenantId, day)) + this.recorder.pendingTokens(ctx.tenantId, day);
      if (used >= quota) {
        const retryAfter = Math.max(1, Math.ceil((DAY_MS - (now % DAY_MS)) / 1000));
        throw new AppError(
          'quota_exceeded',
          429,
          `The tenant used ${used} of its ${quota} LLM tokens today (UTC); the quota resets at midnight UTC`,
          undefined,
          { 'retry-after': String(retryAfter) },
        );
      }
    }
    return settings;
  }

  /** Runs `run` with the privacy engine; undefined when the mode is `off`. */
  private async shield<T extends Shielded>(mode: PrivacyMode, run: (scanner: PiiScanner) => Promise<T>): Promise<T | undefined> {
    if (mode === 'off') return undefined;
    const scanner = this.scanner();
    if (!scanner) throw new AppError('service_unavailable', 503, 'The privacy engine is not available; cannot apply LLM privacy');
    return run(scanner);
  }

  /**
   * The call's privacy mode and the messages to send (shielded). Without a promise in the common
   * case (the tenant's settings cached, no token quota, privacy off): a call then awaits nothing
   * before its provider request.
   */
  private prepare(ctx: RequestContext, input: GatewayChatInput): Prepared | Promise<Prepared> {
    const settings = this.cachedSettings(ctx.tenantId, this.platform.clock.now());
    if (settings && !(this.quotaOf(settings) > 0)) {
      const mode = this.privacyModeOf(input.privacyMode, settings.privacyMode);
      if (mode === 'off') return unshielded(mode, input.messages);
    }
    return this.prepareChecked(ctx, input);
  }

  private async prepareChecked(ctx: RequestContext, input: GatewayChatInput): Promise<Prepared> {
    const settings = await this.checkQuota(ctx);
    const mode = this.privacyModeOf(input.privacyMode, settings.privacyMode);
    const shielded = await this.shield(mode, (scanner) => shieldMessages(scanner, ctx.tenantId, mode, input.messages));
    return shielded ? { mode, shielded, messages: shielded.messages } : unshielded(mode, input.messages);
  }

  private request(input: GatewayChatInput) {
    const model = input.provider && input.model ? `${input.provider}/${input.model}` : input.model;
    return { model, temperature: input.temperature, maxTokens: input.maxTokens, topP: input.topP, stop: input.stop };
  }

  private record(
    ctx: RequestContext,
    operation: LlmCall['operation'],
    streamed: boolean,
    result: Omit<ChatResult, 'text' | 'finishReason'>,
    privacy: LlmPrivacyReport,
    status: 'ok' | 'error',
    errorCode: string | null = null,
  ): void {
    const now = this.platform.clock.now();
    const call: LlmCall = {
      id: this.platform.ids.new('llm'),
      tenantId: ctx.tenantId,
      createdAt: now,
      day: dayOf(now),
      principal: ctx.principal.subject,
      operation,
      streamed,
      provider: result.provider,
      model: result.model,
      status,
      errorCode,
      inputTokens: result.usage.inputTokens,
      outputTokens: result.usage.outputTokens,
      latencyMs: result.latencyMs,
      attempts: result.attempts,
      privacyMode: privacy.mode,
      privacyCounts: privacy.entities,
    };
    this.recorder.add(
      call,
      {
        id: call.id,
        actor: call.principal,
        actor_kind: ctx.principal.kind,
        ip: ctx.ip,
        resource_type: 'llm_call',
        operation,
        streamed,
        provider: call.provider,
        model: call.model,
        status,
        error_code: errorCode,
        usage: { prompt_tokens: call.inputTokens, completion_tokens: call.outputTokens },
        latency_ms: call.latencyMs,
        attempts: call.attempts,
        privacy: { mode: privacy.mode, entities: privacy.entities },
      },
      { requestId: ctx.requestId, traceparent: ctx.traceparent },
    );
  }

  /** Records a failed (or abandoned) call; never hides the original error. */
  private recordFailure(
    ctx: RequestContext,
    input: GatewayChatInput,
    operation: LlmCall['operation'],
    streamed: boolean,
    privacy: LlmPrivacyReport,
    startedAt: number,
    err: unknown,
  ): void {
    const code = err === undefined ? 'client_closed_request' : err instanceof AppError ? err.code : 'internal_error';
    const model = input.model ?? '';
    let provider = input.provider ?? '';
    if (!provider) {
      try {
        provider = model || this.platform.config.llmDefaultModel ? this.llm.resolve(model || undefined).provider.name : '';
      } catch {
        provider = '';
      }
    }
    const usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
    const latencyMs = Math.max(0, this.platform.clock.now() - startedAt);
    this.record(ctx, operation, streamed, { provider, model, usage, latencyMs, attempts: attemptsOf(err) }, privacy, 'error', code);
  }
}
