import { Counter, Histogram } from 'prom-client';
import { AppError } from '../../platform/http/errors.js';
import type { Platform } from '../../platform/index.js';
import { providerConfigsOf } from './config.js';
import { OllamaProvider } from './ollama.js';
import { OpenAiProvider } from './openai.js';
import {
  type ChatRequest,
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
}

interface Call {
  signal: AbortSignal;
  deadlineAt: number;
  timeoutMs: number;
  timedOut(): boolean;
  callerAborted(): boolean;
  /** Ends the call: clears the deadline timer and aborts the upstream request if still open. */
  end(): void;
}

type Operation = 'chat' | 'stream' | 'embed';

const notConfigured = (detail: string) => new AppError('llm_not_configured', 409, detail);

/**
 * Every LLM call in Loam goes through here: model → provider routing, an overall deadline,
 * caller cancellation, retries with exponential backoff, a per-provider cooldown after 429/5xx
 * that honours Retry-After, clear errors (502/504), and tokens/latency metrics.
 *
 * Waiting uses real time (Date.now, timers), not the platform clock: it paces a remote service.
 */
export class LlmService {
  private readonly providers: { config: ProviderConfig; adapter: LlmProvider }[];
  private readonly cooldownUntil = new Map<string, number>();
  private readonly requests: Counter<'provider' | 'model' | 'operation' | 'outcome'>;
  private readonly duration: Histogram<'provider' | 'model' | 'operation' | 'outcome'>;
  private readonly tokens: Counter<'provider' | 'model' | 'type'>;

  constructor(
    private readonly platform: Platform,
    opts: LlmServiceOptions = {},
  ) {
    const configs = opts.providers ?? providerConfigsOf(platform.config);
    this.providers = configs.map((config) => ({
      config,
      adapter: config.kind === 'ollama' ? new OllamaProvider(config, opts.fetch) : new OpenAiProvider(config, opts.fetch),
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
   * Which provider serves `modelId`: a provider listing it, else `provider/model`, else a provider
   * that lists no models (it takes any id). Empty → LOAM_LLM_DEFAULT_MODEL, else the first listed model.
   */
  resolve(modelId?: string, purpose: 'chat' | 'embed' = 'chat'): { provider: LlmProvider; model: string } {
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
      return { provider: first.adapter, model: first.config.models[0] };
    }
    const listing = this.providers.find((p) => p.config.models.includes(id as string));
    if (listing) return { provider: listing.adapter, model: id };
    const slash = id.indexOf('/');
    if (slash > 0) {
      const named = this.providers.find((p) => p.config.name === id?.slice(0, slash));
      if (named) return { provider: named.adapter, model: id.slice(slash + 1) };
    }
    const open = this.providers.find((p) => p.config.models.length === 0);
    if (open) return { provider: open.adapter, model: id };
    throw notConfigured(`No configured LLM provider serves the model '${id}'`);
  }

  /** One whole answer. */
  async chat(input: ChatInput, opts: CallOptions = {}): Promise<ChatResult> {
    const { provider, model } = this.resolve(input.model);
    const call = this.startCall(opts);
    const started = performance.now();
    try {
      const result = await this.withRetries(provider, call, (signal) => provider.chat({ ...input, model }, signal));
      const latencyMs = Math.round(performance.now() - started);
      this.record(provider.name, model, 'chat', 'ok', latencyMs, result.usage);
      return { ...result, provider: provider.name, model, latencyMs };
    } catch (err) {
      throw this.failed(err, call, provider.name, model, 'chat', started);
    } finally {
      call.end();
    }
  }

  /**
   * A streamed answer. Resolves once the provider accepted the request (connection failures and
   * 429/5xx before that are retried); then yields text deltas and one `finish` with metadata.
   * Stopping the iteration early aborts the upstream request.
   */
  async streamChat(input: ChatInput, opts: CallOptions = {}): Promise<ChatStream> {
    const { provider, model } = this.resolve(input.model);
    const call = this.startCall(opts);
    const started = performance.now();
    let upstream: AsyncIterable<import('./types.js').ChatStreamPart>;
    try {
      upstream = await this.withRetries(provider, call, (signal) => provider.openChatStream({ ...input, model }, signal));
    } catch (err) {
      call.end();
      throw this.failed(err, call, provider.name, model, 'stream', started);
    }
    const self = this;
    const parts = (async function* (): AsyncGenerator<ChatResultStreamPart> {
      let finished = false;
      try {
        for await (const part of upstream) {
          if (part.type === 'finish') {
            finished = true;
            const latencyMs = Math.round(performance.now() - started);
            self.record(provider.name, model, 'stream', 'ok', latencyMs, part.usage);
            yield { ...part, provider: provider.name, model, latencyMs };
          } else yield part;
        }
        if (!finished)
          throw call.signal.aborted ? call.signal.reason : new UpstreamError(provider.name, undefined, 'the stream ended early');
      } catch (err) {
        throw self.failed(err, call, provider.name, model, 'stream', started);
      } finally {
        call.end();
      }
    })();
    return { provider: provider.name, model, parts };
  }

  /** Vectors for `input`, in order. */
  async embed(input: { model?: string; input: string[] }, opts: CallOptions = {}): Promise<EmbedResult> {
    const { provider, model } = this.resolve(input.model, 'embed');
    const call = this.startCall(opts);
    const started = performance.now();
    try {
      const result = await this.withRetries(provider, call, (signal) => provider.embed({ model, input: input.input }, signal));
      const latencyMs = Math.round(performance.now() - started);
      this.record(provider.name, model, 'embed', 'ok', latencyMs, { inputTokens: result.usage.inputTokens, outputTokens: 0 });
      return { ...result, provider: provider.name, model, latencyMs };
    } catch (err) {
      throw this.failed(err, call, provider.name, model, 'embed', started);
    } finally {
      call.end();
    }
  }

  private startCall(opts: CallOptions): Call {
    const timeoutMs = opts.timeoutMs ?? this.platform.config.llmTimeoutMs;
    const deadline = new AbortController();
    const own = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error('deadline')), timeoutMs);
    timer.unref?.();
    const signals = [deadline.signal, own.signal, ...(opts.signal ? [opts.signal] : [])];
    return {
      signal: AbortSignal.any(signals),
      deadlineAt: Date.now() + timeoutMs,
      timeoutMs,
      timedOut: () => deadline.signal.aborted,
      callerAborted: () => opts.signal?.aborted === true,
      end: () => {
        clearTimeout(timer);
        own.abort();
      },
    };
  }

  private async withRetries<T>(provider: LlmProvider, call: Call, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { llmMaxRetries, llmRetryBaseMs, llmRetryMaxDelayMs } = this.platform.config;
    for (let n = 0; ; n++) {
      await this.waitForCooldown(provider.name, call);
      try {
        return await attempt(call.signal);
      } catch (err) {
        if (call.signal.aborted) throw err;
        const upstream = asUpstreamError(err, provider.name);
        if (!upstream) throw err;
        const attempts = n + 1;
        if (!upstream.retryable) throw withAttempts(upstream, attempts);
        const backoff = Math.min(llmRetryMaxDelayMs, llmRetryBaseMs * 2 ** n) * (0.5 + this.platform.random.bytes(1)[0] / 512);
        const delay = Math.max(backoff, upstream.retryAfterMs ?? 0);
        if (upstream.status === 429 || (upstream.status ?? 0) >= 500) {
          // Every caller of this provider waits, not only this one: the provider asked for a pause.
          const until = Date.now() + delay;
          if (until > (this.cooldownUntil.get(provider.name) ?? 0)) this.cooldownUntil.set(provider.name, until);
        }
        if (n >= llmMaxRetries) throw withAttempts(upstream, attempts);
        // Waiting longer than allowed, or past the deadline, cannot succeed: say so now.
        if (delay > llmRetryMaxDelayMs || Date.now() + delay >= call.deadlineAt) throw withAttempts(upstream, attempts);
        this.platform.log.warn(
          { provider: provider.name, status: upstream.status, attempt: attempts, retryInMs: Math.round(delay) },
          'LLM call failed; retrying',
        );
      }
    }
  }

  /** After a 429/5xx, calls to the same provider wait until its cooldown ends (or fail if past the deadline). */
  private async waitForCooldown(providerName: string, call: Call): Promise<void> {
    const until = this.cooldownUntil.get(providerName) ?? 0;
    const wait = until - Date.now();
    if (wait <= 0) return;
    if (until >= call.deadlineAt) {
      const seconds = Math.ceil(wait / 1000);
      throw new AppError(
        'llm_rate_limited',
        502,
        `The LLM provider '${providerName}' asked to slow down; it accepts calls again in ${seconds} s`,
        undefined,
        { 'retry-after': String(seconds) },
      );
    }
    await sleep(wait, call.signal);
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

  /** Turns a failure into the AppError clients see, and records it. */
  private failed(err: unknown, call: Call, provider: string, model: string, operation: Operation, started: number): unknown {
    const latencyMs = Math.round(performance.now() - started);
    if (err instanceof AppError) {
      this.record(provider, model, operation, 'error', latencyMs);
      return err;
    }
    if (call.timedOut()) {
      this.record(provider, model, operation, 'timeout', latencyMs);
      return new AppError('llm_timeout', 504, `The LLM provider '${provider}' did not answer within ${call.timeoutMs} ms`);
    }
    if (call.callerAborted()) {
      this.record(provider, model, operation, 'cancelled', latencyMs);
      return new AppError('client_closed_request', 499, 'The client closed the request; the LLM call was cancelled');
    }
    const upstream = asUpstreamError(err, provider);
    if (!upstream) {
      this.record(provider, model, operation, 'error', latencyMs);
      return err;
    }
    this.record(provider, model, operation, 'error', latencyMs);
    const attempts = (upstream as UpstreamError & { attempts?: number }).attempts ?? 1;
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    const status = upstream.status === undefined ? 'a network error' : `HTTP ${upstream.status}`;
    const detail = `The LLM provider '${provider}' failed${tries} with ${status}: ${upstream.message.slice(0, 300)}`;
    if (upstream.status === 429) {
      const seconds = upstream.retryAfterMs !== undefined ? Math.max(1, Math.ceil(upstream.retryAfterMs / 1000)) : undefined;
      return new AppError('llm_rate_limited', 502, detail, undefined, seconds ? { 'retry-after': String(seconds) } : undefined);
    }
    return new AppError('llm_upstream_error', 502, detail);
  }
}

function withAttempts(err: UpstreamError, attempts: number): UpstreamError {
  return Object.assign(err, { attempts });
}

/** Adapter errors and network failures (fetch's TypeError) as UpstreamError; anything else is a bug. */
function asUpstreamError(err: unknown, provider: string): UpstreamError | undefined {
  if (err instanceof UpstreamError) return err;
  if (err instanceof TypeError && /fetch failed|terminated|network|socket/i.test(err.message))
    return new UpstreamError(provider, undefined, err.message);
  return undefined;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
