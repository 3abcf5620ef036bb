import { Counter, Histogram } from 'prom-client';
import { AppError } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import { providerConfigsOf } from './config.js';
import { OllamaProvider } from './ollama.js';
import { OpenAiProvider } from './openai.js';
import { CircuitBreakers, type LlmTimer, realTimer } from './resilience.js';
import {
  type ChatRequest,
  type ChatStreamPart,
  type ChatResult,
  type ChatResultStreamPart,
  type EmbedResult,
  type LlmProvider,
  type ProviderConfig,
  type ProviderKind,
  UpstreamError,
} from './types.js';

export interface CallOptions {
  /** Aborts the upstream call (a client that went away). */
  signal?: AbortSignal;
  /** Overall deadline; default LOAM_LLM_TIMEOUT_MS. */
  timeoutMs?: number;
}

export type ChatInput = Omit<ChatRequest, 'model'> & { model?: string };

export interface ChatStream {
  provider: string;
  model: string;
  parts: AsyncIterable<ChatResultStreamPart>;
}

export interface LlmServiceOptions {
  /** Replaces the configured providers (tests). */
  providers?: ProviderConfig[];
  /** The fetch adapters use (tests). */
  fetch?: typeof fetch;
  /** Time and sleeps for retries, cooldowns and breakers (tests pass a fake one). */
  timer?: LlmTimer;
}

/** A provider and the model id it is asked for. */
export interface Target {
  provider: LlmProvider;
  model: string;
}

interface Call {
  signal: AbortSignal;
  /** Requests sent to providers so far, retries and fallbacks included. */
  attempts: number;
  deadlineAt: number;
  timeoutMs: number;
  timedOut(): boolean;
  callerAborted(): boolean;
  /**
   * Ends the call: clears the deadline timer and lets go of the caller's signal; unless the call
   * completed (its answer read to the end), aborts the upstream request if still open.
   */
  end(completed: boolean): void;
}

type Operation = 'chat' | 'stream' | 'embed';

const notConfigured = (detail: string) => new AppError('llm_not_configured', 409, detail);

/** A provider skipped (breaker open, or paused by Retry-After while another provider can serve). */
class ProviderSkipped extends Error {
  constructor(
    readonly provider: string,
    readonly retryInMs: number,
  ) {
    super(`provider ${provider} skipped`);
  }
}

/**
 * Every LLM call in Loam goes through here: model → provider routing, an overall deadline,
 * caller cancellation, retries with exponential backoff, a per-provider pause after 429/5xx
 * that honours Retry-After, a circuit breaker per provider, fallback to the next provider that
 * serves the model, clear errors (502/503/504), and tokens/latency metrics.
 *
 * Waiting uses real time (an `LlmTimer`), not the platform clock: it paces a remote service.
 */
export class LlmService {
  private readonly providers: { config: ProviderConfig; adapter: LlmProvider }[];
  private readonly cooldownUntil = new Map<string, number>();
  private readonly timer: LlmTimer;
  readonly breakers: CircuitBreakers;
  private readonly requests: Counter<'provider' | 'model' | 'operation' | 'outcome'>;
  private readonly duration: Histogram<'provider' | 'model' | 'operation' | 'outcome'>;
  private readonly tokens: Counter<'provider' | 'model' | 'type'>;

  constructor(
    private readonly platform: Platform,
    opts: LlmServiceOptions = {},
  ) {
    const configs = opts.providers ?? providerConfigsOf(platform.config);
    this.timer = opts.timer ?? realTimer;
    this.breakers = new CircuitBreakers(this.timer, {
      failures: platform.config.llmBreakerFailures,
      cooldownMs: platform.config.llmBreakerCooldownMs,
    });
    this.providers = configs.map((config) => ({
      config,
      adapter: config.kind === 'ollama' ? new OllamaProvider(config) : new OpenAiProvider(config, opts.fetch),
    }));
    const registers = [platform.metrics];
    // One set of metrics per registry, even if a second service is built on the same platform.
    const existing = <T>(name: string) => platform.metrics.getSingleMetric(name) as T | undefined;
    this.requests =
      existing<typeof this.requests>('loam_llm_requests_total') ??
      new Counter({
        name: 'loam_llm_requests_total',
        help: 'LLM calls by provider, model, operation and outcome (ok, error, timeout, cancelled)',
        labelNames: ['provider', 'model', 'operation', 'outcome'],
        registers,
      });
    this.duration =
      existing<typeof this.duration>('loam_llm_request_duration_seconds') ??
      new Histogram({
        name: 'loam_llm_request_duration_seconds',
        help: 'LLM call latency (streams: until the last token) by provider, model, operation and outcome',
        labelNames: ['provider', 'model', 'operation', 'outcome'],
        buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
        registers,
      });
    this.tokens =
      existing<typeof this.tokens>('loam_llm_tokens_total') ??
      new Counter({
        name: 'loam_llm_tokens_total',
        help: 'Tokens by provider, model and type (input, output)',
        labelNames: ['provider', 'model', 'type'],
        registers,
      });
  }

  get configured(): boolean {
    return this.providers.length > 0;
  }

  /** The providers and their models, without secrets. */
  describe(): { name: string; kind: ProviderKind; models: string[] }[] {
    return this.providers.map(({ config }) => ({ name: config.name, kind: config.kind, models: [...config.models] }));
  }

  /**
   * Which providers serve `modelId`, in configuration order (the first is tried first, the others
   * are fallbacks): those listing it; else the one named by `provider/model`; else those that list
   * no models (they take any id). Empty → LOAM_LLM_DEFAULT_MODEL, else the first listed model.
   */
  resolveAll(modelId?: string, purpose: 'chat' | 'embed' = 'chat'): Target[] {
    if (!this.configured)
      throw notConfigured('No LLM provider is configured (set LOAM_LLM_PROVIDERS, LOAM_OPENAI_API_KEY or LOAM_OLLAMA_URL)');
    const id = modelId?.trim() || (purpose === 'embed' ? this.platform.config.llmEmbeddingModel : this.platform.config.llmDefaultModel);
    if (!id) {
      const first = this.providers.find((p) => p.config.models.length > 0);
      if (!first || purpose === 'embed')
        throw notConfigured(
          purpose === 'embed'
            ? 'No embedding model is configured (set LOAM_LLM_EMBEDDING_MODEL)'
            : 'No model given and no default model configured (set LOAM_LLM_DEFAULT_MODEL)',
        );
      return this.resolveAll(first.config.models[0], purpose);
    }
    const listing = this.providers.filter((p) => p.config.models.includes(id));
    if (listing.length) return listing.map((p) => ({ provider: p.adapter, model: id }));
    const slash = id.indexOf('/');
    if (slash > 0) {
      const named = this.providers.find((p) => p.config.name === id.slice(0, slash));
      if (named) return [{ provider: named.adapter, model: id.slice(slash + 1) }];
    }
    const open = this.providers.filter((p) => p.config.models.length === 0);
    if (open.length) return open.map((p) => ({ provider: p.adapter, model: id }));
    throw notConfigured(`No configured LLM provider serves the model '${id}'`);
  }

  /** The provider tried first for `modelId` (see `resolveAll`). */
  resolve(modelId?: string, purpose: 'chat' | 'embed' = 'chat'): Target {
    return this.resolveAll(modelId, purpose)[0];
  }

  /** Every model id a client may name: listed models, and `provider/*` for providers taking any id. */
  models(): { id: string; provider: string }[] {
    const out: { id: string; provider: string }[] = [];
    for (const { config } of this.providers) {
      for (const m of config.models) if (!out.some((o) => o.id === m)) out.push({ id: m, provider: config.name });
    }
    return out;
  }

  /** One whole answer. */
  async chat(input: ChatInput, opts: CallOptions = {}): Promise<ChatResult> {
    const targets = this.resolveAll(input.model);
    const call = this.startCall(opts);
    const started = performance.now();
    let completed = false;
    try {
      const { value, target, attempts } = await this.run(targets, call, (t, signal) =>
        t.provider.chat({ ...input, model: t.model }, signal),
      );
      completed = true;
      const latencyMs = Math.round(performance.now() - started);
      this.record(target.provider.name, target.model, 'chat', 'ok', latencyMs, value.usage);
      return { ...value, provider: target.provider.name, model: target.model, latencyMs, attempts };
    } catch (err) {
      throw this.failed(err, call, targets, 'chat', started);
    } finally {
      call.end(completed);
    }
  }

  /**
   * A streamed answer. Resolves once the provider accepted the request (connection failures and
   * 429/5xx before that are retried); then yields text deltas and one `finish` with metadata.
   * Stopping the iteration early aborts the upstream request.
   */
  async streamChat(input: ChatInput, opts: CallOptions = {}): Promise<ChatStream> {
    const targets = this.resolveAll(input.model);
    const call = this.startCall(opts);
    const started = performance.now();
    let upstream: AsyncIterable<ChatStreamPart>;
    let provider: LlmProvider;
    let model: string;
    let attempts: number;
    try {
      const opened = await this.run(targets, call, (t, signal) => t.provider.openChatStream({ ...input, model: t.model }, signal));
      upstream = opened.value;
      provider = opened.target.provider;
      model = opened.target.model;
      attempts = opened.attempts;
    } catch (err) {
      call.end(false);
      throw this.failed(err, call, targets, 'stream', started);
    }
    const self = this;
    const target = [{ provider, model }];
    const parts = (async function* (): AsyncGenerator<ChatResultStreamPart> {
      let finished = false;
      try {
        for await (const part of upstream) {
          if (part.type === 'finish') {
            finished = true;
            const latencyMs = Math.round(performance.now() - started);
            self.record(provider.name, model, 'stream', 'ok', latencyMs, part.usage);
            yield { ...part, provider: provider.name, model, latencyMs, attempts };
          } else yield part;
        }
        if (!finished)
          throw call.signal.aborted ? call.signal.reason : new UpstreamError(provider.name, undefined, 'the stream ended early');
      } catch (err) {
        throw self.failed(err, call, target, 'stream', started);
      } finally {
        // A consumer that stopped before the finish part cancels the upstream stream.
        call.end(finished);
      }
    })();
    return { provider: provider.name, model, parts };
  }

  /** Vectors for `input`, in order. */
  async embed(input: { model?: string; input: string[] }, opts: CallOptions = {}): Promise<EmbedResult> {
    const targets = this.resolveAll(input.model, 'embed');
    const call = this.startCall(opts);
    const started = performance.now();
    let completed = false;
    try {
      const { value, target, attempts } = await this.run(targets, call, (t, signal) =>
        t.provider.embed({ model: t.model, input: input.input }, signal),
      );
      completed = true;
      const latencyMs = Math.round(performance.now() - started);
      const { name } = target.provider;
      this.record(name, target.model, 'embed', 'ok', latencyMs, { inputTokens: value.usage.inputTokens, outputTokens: 0 });
      return { ...value, provider: name, model: target.model, latencyMs, attempts };
    } catch (err) {
      throw this.failed(err, call, targets, 'embed', started);
    } finally {
      call.end(completed);
    }
  }

  /**
   * One AbortController per call, aborted by the deadline, the caller's signal or `end`: cheaper
   * than `AbortSignal.any` over three signals, and a completed call aborts nothing (an abort
   * builds its DOMException and dispatches an event).
   */
  private startCall(opts: CallOptions): Call {
    const timeoutMs = opts.timeoutMs ?? this.platform.config.llmTimeoutMs;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new Error('deadline'));
    }, timeoutMs);
    timer.unref?.();
    const caller = opts.signal;
    const onCallerAbort = () => controller.abort(caller?.reason);
    if (caller?.aborted) onCallerAbort();
    else caller?.addEventListener('abort', onCallerAbort, { once: true });
    return {
      signal: controller.signal,
      attempts: 0,
      deadlineAt: this.timer.now() + timeoutMs,
      timeoutMs,
      timedOut: () => timedOut,
      callerAborted: () => caller?.aborted === true,
      end: (completed) => {
        clearTimeout(timer);
        caller?.removeEventListener('abort', onCallerAbort);
        if (!completed) controller.abort();
      },
    };
  }

  /**
   * Tries `targets` in order: a provider whose breaker is open is skipped, one that fails with
   * a retryable error after its retries hands over to the next. Non-retryable errors (a 4xx
   * other than 408/409/429) end the call: another provider would refuse the same request.
   */
  private async run<T>(
    targets: Target[],
    call: Call,
    attempt: (target: Target, signal: AbortSignal) => Promise<T>,
  ): Promise<{ value: T; target: Target; attempts: number }> {
    let last: unknown;
    for (const [i, target] of targets.entries()) {
      const name = target.provider.name;
      if (!this.breakers.allow(name)) {
        last ??= new ProviderSkipped(name, this.breakers.retryInMs(name));
        continue;
      }
      try {
        const value = await this.withRetries(target.provider, call, i < targets.length - 1, (signal) => attempt(target, signal));
        this.breakers.succeeded(name);
        return { value, target, attempts: call.attempts };
      } catch (err) {
        if (call.signal.aborted || !(err instanceof ProviderSkipped || asUpstreamError(err, name)?.retryable)) {
          this.breakers.released(name);
          throw err;
        }
        last = err;
        if (i < targets.length - 1)
          this.platform.log.warn({ provider: name, next: targets[i + 1].provider.name }, 'LLM provider failed; falling back');
      }
    }
    throw last;
  }

  private async withRetries<T>(
    provider: LlmProvider,
    call: Call,
    canFallBack: boolean,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const { llmMaxRetries, llmRetryBaseMs, llmRetryMaxDelayMs } = this.platform.config;
    for (let n = 0; ; n++) {
      const cooling = this.waitForCooldown(provider.name, call, canFallBack);
      if (cooling) await cooling;
      call.attempts++;
      try {
        return await attempt(call.signal);
      } catch (err) {
        if (call.signal.aborted) throw err;
        const upstream = asUpstreamError(err, provider.name);
        if (!upstream) throw err;
        const attempts = call.attempts;
        if (!upstream.retryable) throw upstream;
        const opened = this.breakers.failed(provider.name);
        const backoff = Math.min(llmRetryMaxDelayMs, llmRetryBaseMs * 2 ** n) * (0.5 + this.platform.random.bytes(1)[0] / 512);
        const delay = Math.max(backoff, upstream.retryAfterMs ?? 0);
        const now = this.timer.now();
        if (upstream.status === 429 || (upstream.status ?? 0) >= 500) {
          // Every caller of this provider waits, not only this one: the provider asked for a pause.
          const until = now + delay;
          if (until > (this.cooldownUntil.get(provider.name) ?? 0)) this.cooldownUntil.set(provider.name, until);
        }
        // An open breaker, spent retries, a wait longer than allowed or past the deadline: this
        // provider cannot succeed for this call (the next one may).
        if (opened || n >= llmMaxRetries || delay > llmRetryMaxDelayMs || now + delay >= call.deadlineAt) throw upstream;
        this.platform.log.warn(
          { provider: provider.name, status: upstream.status, attempt: attempts, retryInMs: Math.round(delay) },
          'LLM call failed; retrying',
        );
        await this.timer.sleep(delay, call.signal);
      }
    }
  }

  /**
   * After a 429/5xx, calls to the same provider wait until its pause ends — unless another
   * provider can serve (then this one is skipped) or the pause outlasts the deadline (then fail).
   * Undefined (no promise) when the provider is not paused.
   */
  private waitForCooldown(providerName: string, call: Call, canFallBack: boolean): Promise<void> | undefined {
    const until = this.cooldownUntil.get(providerName) ?? 0;
    const wait = until - this.timer.now();
    if (wait <= 0) return undefined;
    if (canFallBack) throw new ProviderSkipped(providerName, wait);
    if (until >= call.deadlineAt) throw rateLimited(providerName, wait);
    return this.timer.sleep(wait, call.signal);
  }

  private record(
    provider: string,
    model: string,
    operation: Operation,
    outcome: string,
    latencyMs: number,
    usage?: { inputTokens: number; outputTokens: number },
  ) {
    this.requests.inc({ provider, model, operation, outcome });
    this.duration.observe({ provider, model, operation, outcome }, latencyMs / 1000);
    if (usage) {
      if (usage.inputTokens) this.tokens.inc({ provider, model, type: 'input' }, usage.inputTokens);
      if (usage.outputTokens) this.tokens.inc({ provider, model, type: 'output' }, usage.outputTokens);
    }
  }

  /** Turns a failure into the AppError clients see (carrying the call's attempts, see `attemptsOf`), and records it. */
  private failed(err: unknown, call: Call, targets: Target[], operation: Operation, started: number): unknown {
    const latencyMs = Math.round(performance.now() - started);
    const failedOn =
      (err instanceof UpstreamError || err instanceof ProviderSkipped ? err.provider : undefined) ?? targets[0].provider.name;
    const model = targets.find((t) => t.provider.name === failedOn)?.model ?? targets[0].model;
    const outcome = call.timedOut() ? 'timeout' : call.callerAborted() ? 'cancelled' : 'error';
    this.record(failedOn, model, operation, outcome, latencyMs);
    const out = this.clientError(err, call, targets, failedOn, model);
    if (typeof out === 'object' && out !== null) attemptsByError.set(out, call.attempts);
    return out;
  }

  private clientError(err: unknown, call: Call, targets: Target[], failedOn: string, model: string): unknown {
    if (err instanceof AppError) return err;
    if (call.timedOut())
      return new AppError('llm_timeout', 504, `The LLM provider '${failedOn}' did not answer within ${call.timeoutMs} ms`);
    if (call.callerAborted())
      return new AppError('client_closed_request', 499, 'The client closed the request; the LLM call was cancelled');
    if (err instanceof ProviderSkipped) {
      const seconds = Math.max(1, Math.ceil(err.retryInMs / 1000));
      const names = targets.map((t) => `'${t.provider.name}'`).join(', ');
      return new AppError(
        'llm_unavailable',
        503,
        `Every LLM provider serving '${model}' (${names}) is cooling down after repeated failures; retry in ${seconds} s`,
        undefined,
        { 'retry-after': String(seconds) },
      );
    }
    const upstream = asUpstreamError(err, failedOn);
    if (!upstream) return err;
    const attempts = Math.max(1, call.attempts);
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    const status = upstream.status === undefined ? 'a network error' : `HTTP ${upstream.status}`;
    const detail = `The LLM provider '${failedOn}' failed${tries} with ${status}: ${upstream.message.slice(0, 300)}`;
    if (upstream.status === 429) {
      const seconds = upstream.retryAfterMs !== undefined ? Math.max(1, Math.ceil(upstream.retryAfterMs / 1000)) : undefined;
      return new AppError('llm_rate_limited', 502, detail, undefined, seconds ? { 'retry-after': String(seconds) } : undefined);
    }
    return new AppError('llm_upstream_error', 502, detail);
  }
}

function rateLimited(providerName: string, waitMs: number): AppError {
  const seconds = Math.ceil(waitMs / 1000);
  return new AppError(
    'llm_rate_limited',
    502,
    `The LLM provider '${providerName}' asked to slow down; it accepts calls again in ${seconds} s`,
    undefined,
    { 'retry-after': String(seconds) },
  );
}

const attemptsByError = new WeakMap<object, number>();

/** How many requests a failed call sent to providers (0 when none was sent, e.g. every provider cooling down). */
export function attemptsOf(err: unknown): number {
  return (typeof err === 'object' && err !== null && attemptsByError.get(err)) || 0;
}

/** Adapter errors and network failures (fetch's TypeError) as UpstreamError; anything else is a bug. */
function asUpstreamError(err: unknown, provider: string): UpstreamError | undefined {
  if (err instanceof UpstreamError) return err;
  if (err instanceof TypeError && /fetch failed|terminated|network|socket/i.test(err.message))
    return new UpstreamError(provider, undefined, err.message);
  return undefined;
}
