import { APIConnectionError, APIError, APITimeoutError, APIUserAbortError, LoamError, parseRetryAfter } from './errors.js';
import { type ClientMetrics, MetricsRecorder } from './metrics.js';
import { TokenCache } from './token.js';
import type { UploadSource } from './uploads.js';

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** OAuth 2.0 client credentials, exchanged for an access token at `POST /auth/token`. */
export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for; the credential's own scopes when absent. */
  scope?: string;
}

export interface LoamOptions {
  /** Where Loam listens. Default: `LOAM_API_BASE_URL`, else `http://127.0.0.1:8080`. */
  baseURL?: string;
  /** An API key (`loam_sk_…`). Default: `LOAM_API_KEY`. */
  apiKey?: string;
  /** A user's (or any) bearer access token, e.g. from `loam.auth.login()`. */
  accessToken?: string;
  /** Machine credentials; the token is fetched, cached and refreshed for you. Default: `LOAM_CLIENT_ID` + `LOAM_CLIENT_SECRET` (+ `LOAM_CLIENT_SCOPE`). */
  clientCredentials?: ClientCredentials;
  /** Milliseconds per attempt until the response headers (and a JSON body) arrive. Default: `LOAM_REQUEST_TIMEOUT`, else 60,000. */
  timeout?: number;
  /** Retries of connection errors, 408, 429 and 5xx. Default 2. */
  maxRetries?: number;
  /** A `fetch` implementation (a proxy agent, a test double). Default: the global `fetch`. */
  fetch?: Fetch;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
  /** Log every request (method, URL without secrets, status, time) to `logger`. Default: `LOAM_DEBUG`. */
  debug?: boolean;
  /** Where debug lines go. Default: `console.error`. */
  logger?: (line: string) => void;
}

export type QueryValue = string | number | boolean | null | undefined | readonly (string | number | boolean)[];
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  body?: unknown;
  /** A body sent as is (uploads); set `content-type` in `headers`. */
  rawBody?: BodyInit | null;
  headers?: Record<string, string | null | undefined>;
  /** Cancels the request (and, for streams, the stream). */
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call. */
  timeout?: number;
  /** Overrides the client's retry count for this call. */
  maxRetries?: number;
  /** The `Idempotency-Key` to send; generated for POST and PATCH when absent. */
  idempotencyKey?: string;
  /** `false`: no credentials (public routes, pre-signed URLs); a string: this bearer token. */
  auth?: boolean | string;
}

/** What `loam.healthCheck()` answers. */
export interface HealthStatus {
  ok: boolean;
  /** `ready` / `not_ready` from the server, or `unreachable`. */
  status: string;
  checks?: Record<string, { ok: boolean; detail?: string }>;
  latencyMs: number;
  error?: string;
}

const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';
const DEFAULT_TIMEOUT = 60_000;
const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8_000;
/** A server asking for a longer pause than this gets an error, not a silently hanging call. */
const MAX_RETRY_AFTER_MS = 60_000;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

/** Reads an environment variable where there is one (Node, Bun, Deno with permission); never throws. */
export function readEnv(name: string): string | undefined {
  const g = globalThis as {
    process?: { env?: Record<string, string | undefined> };
    Deno?: { env?: { get(n: string): string | undefined } };
  };
  try {
    return (g.process?.env?.[name] ?? g.Deno?.env?.get(name))?.trim() || undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(new APIUserAbortError('Request was aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new APIUserAbortError('Request was aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Exponential backoff (0.5 s, 1 s, 2 s, … capped at 8 s) minus up to 25% jitter, so clients do not retry in lockstep. */
export function backoffDelay(retry: number, random: () => number = Math.random): number {
  const base = Math.min(INITIAL_BACKOFF_MS * 2 ** retry, MAX_BACKOFF_MS);
  return Math.round(base * (1 - 0.25 * random()));
}

const shouldRetryStatus = (status: number) => status === 408 || status === 429 || status >= 500;

export const newIdempotencyKey = (): string => {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return `sdk_${c?.randomUUID ? c.randomUUID() : `${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`}`;
};

const SENSITIVE_QUERY = /sig|token|secret|credential|key|expires/i;

/**
 * The transport every resource uses: URL and query building, authentication, timeouts,
 * retries with backoff, typed errors, metrics and debug logging. Resources add the endpoints.
 */
export class LoamCore {
  readonly baseURL: string;
  readonly timeout: number;
  readonly maxRetries: number;
  protected readonly options: LoamOptions;
  private readonly fetchImpl: Fetch;
  private readonly defaultHeaders: Record<string, string>;
  private readonly apiKey?: string;
  private readonly accessToken?: string;
  private readonly tokens?: TokenCache;
  private readonly recorder = new MetricsRecorder();
  private readonly log?: (line: string) => void;
  /** Turns a file path into an upload; set by the Node entry (`@loam/sdk/node`). @internal */
  fileResolver?: (path: string) => Promise<UploadSource>;

  constructor(options: LoamOptions = {}) {
    this.options = options;
    this.baseURL = (options.baseURL ?? readEnv('LOAM_API_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    const envTimeout = Number(readEnv('LOAM_REQUEST_TIMEOUT'));
    this.timeout = options.timeout ?? (envTimeout > 0 ? envTimeout : DEFAULT_TIMEOUT);
    this.maxRetries = options.maxRetries ?? 2;
    const globalFetch = (globalThis as { fetch?: Fetch }).fetch;
    if (!options.fetch && !globalFetch) throw new LoamError('No fetch implementation: pass `fetch` in the options');
    this.fetchImpl = options.fetch ?? ((input, init) => (globalFetch as Fetch)(input, init));
    this.defaultHeaders = options.defaultHeaders ?? {};

    const explicit = options.apiKey ?? options.accessToken ?? options.clientCredentials;
    if (explicit) {
      this.apiKey = options.apiKey;
      this.accessToken = options.accessToken;
    } else {
      this.apiKey = readEnv('LOAM_API_KEY');
    }
    const clientId = readEnv('LOAM_CLIENT_ID');
    const clientSecret = readEnv('LOAM_CLIENT_SECRET');
    const credentials =
      options.clientCredentials ??
      (!explicit && !this.apiKey && clientId && clientSecret ? { clientId, clientSecret, scope: readEnv('LOAM_CLIENT_SCOPE') } : undefined);
    if (credentials) {
      this.tokens = new TokenCache(async () => {
        this.recorder.tokenRefreshes++;
        return this.request<{ access_token: string; expires_in: number }>('POST', '/auth/token', {
          auth: false,
          body: {
            grant_type: 'client_credentials',
            client_id: credentials.clientId,
            client_secret: credentials.clientSecret,
            ...(credentials.scope ? { scope: credentials.scope } : {}),
          },
        });
      });
    }

    const debug = options.debug ?? ['1', 'true', 'yes'].includes((readEnv('LOAM_DEBUG') ?? '').toLowerCase());
    if (debug) this.log = options.logger ?? ((line) => console.error(line));
  }

  /** Requests, errors, retries, token refreshes and latency percentiles of this client. @example console.log(loam.metrics().latency.p99) */
  metrics(): ClientMetrics {
    return this.recorder.snapshot();
  }

  /**
   * Asks the server whether it is ready (database reachable, migrations applied). Never throws.
   * @example
   * const health = await loam.healthCheck();
   * if (!health.ok) console.error(health.status, health.checks);
   */
  async healthCheck(options: { signal?: AbortSignal; timeout?: number } = {}): Promise<HealthStatus> {
    const started = now();
    try {
      const { response, body } = await this.send('GET', '/readyz', { ...options, auth: false, maxRetries: 0 }, false, true);
      const b = (body ?? {}) as { status?: string; checks?: HealthStatus['checks'] };
      return { ok: response.ok, status: b.status ?? `http_${response.status}`, checks: b.checks, latencyMs: elapsed(started) };
    } catch (err) {
      return { ok: false, status: 'unreachable', latencyMs: elapsed(started), error: (err as Error).message };
    }
  }

  /**
   * Sends a request and decodes the JSON answer (undefined for 204); non-2xx answers throw an {@link APIError}.
   * `.withResponse()` on the result also gives the HTTP `Response` (headers such as `ETag`).
   */
  request<T>(method: string, path: string, options: RequestOptions = {}): APIPromise<T> {
    return new APIPromise(this.send(method, path, options, false), (body) => body as T);
  }

  /** Like {@link request} but returns the successful response with its body unread (streams, downloads). */
  async requestResponse(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    return (await this.send(method, path, options, true)).response;
  }

  /** The full URL of `path` (absolute URLs, e.g. pre-signed ones, pass through) with a form-encoded query. */
  buildURL(path: string, query?: Query): string {
    const url = /^https?:\/\//i.test(path) ? new URL(path) : new URL(this.baseURL + (path.startsWith('/') ? path : `/${path}`));
    const entries = Object.entries(query ?? {})
      .filter(([, v]) => v !== undefined && v !== null)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [k, v] of entries) {
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, String(item));
      else url.searchParams.append(k, String(v));
    }
    return url.toString();
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    stream: boolean,
    acceptAnyStatus = false,
  ): Promise<{ response: Response; body: unknown }> {
    const url = this.buildURL(path, options.query);
    const maxRetries = options.maxRetries ?? this.maxRetries;
    const replayable = !isStreamBody(options.rawBody);
    // Non-idempotent methods are retried only under an Idempotency-Key, so the server can tell a retry from a new call.
    const idempotencyKey = options.idempotencyKey ?? (method === 'POST' || method === 'PATCH' ? newIdempotencyKey() : undefined);
    const retryable = replayable && (IDEMPOTENT.has(method) || idempotencyKey !== undefined);
    let refreshedToken = false;
    let attempt = 0;

    for (;;) {
      const { headers, token } = await this.headersFor(options, idempotencyKey);
      const started = now();
      this.recorder.requests++;
      this.log?.(`loam ${method} ${redactURL(url)}${attempt ? ` (retry ${attempt})` : ''}`);
      let response: Response;
      let body: unknown;
      try {
        ({ response, body } = await this.attempt(url, method, headers, options, stream && !acceptAnyStatus));
      } catch (err) {
        if (err instanceof APIUserAbortError) {
          this.recorder.errors++;
          throw err;
        }
        if (attempt < maxRetries && retryable) {
          await this.pause(attempt, backoffDelay(attempt), (err as Error).message, options.signal);
          attempt++;
          continue;
        }
        this.recorder.errors++;
        throw err;
      }
      this.recorder.observeLatency(elapsed(started));
      const requestId = response.headers.get('x-request-id');
      this.log?.(`loam ${method} ${redactURL(url)} → ${response.status} in ${elapsed(started)} ms${requestId ? ` (${requestId})` : ''}`);
      if (response.ok || acceptAnyStatus) return { response, body };

      if (response.status === 401 && token && this.tokens && !refreshedToken && replayable) {
        // The token may have been revoked or the server restarted with a new key: fetch one fresh token, once.
        refreshedToken = true;
        this.tokens.invalidate(token);
        continue;
      }
      if (shouldRetryStatus(response.status) && attempt < maxRetries && retryable) {
        const asked = retryAfterOf(response.headers);
        if (asked === undefined || asked <= MAX_RETRY_AFTER_MS) {
          await this.pause(attempt, asked ?? backoffDelay(attempt), `HTTP ${response.status}`, options.signal);
          attempt++;
          continue;
        }
      }
      this.recorder.errors++;
      throw APIError.from(response.status, body, response.headers);
    }
  }

  private async pause(attempt: number, ms: number, why: string, signal?: AbortSignal): Promise<void> {
    this.recorder.retries++;
    this.log?.(`loam retry ${attempt + 1} in ${ms} ms after ${why}`);
    try {
      await sleep(ms, signal);
    } catch (err) {
      this.recorder.errors++; // aborted while waiting to retry
      throw err;
    }
  }

  private async headersFor(options: RequestOptions, idempotencyKey?: string): Promise<{ headers: Headers; token?: string }> {
    const headers = new Headers({ accept: 'application/json', ...this.defaultHeaders });
    let token: string | undefined;
    if (typeof options.auth === 'string') headers.set('authorization', `Bearer ${options.auth}`);
    else if (options.auth !== false) {
      if (this.apiKey) headers.set('x-api-key', this.apiKey);
      else if (this.accessToken) headers.set('authorization', `Bearer ${this.accessToken}`);
      else if (this.tokens) {
        token = await this.tokens.get();
        headers.set('authorization', `Bearer ${token}`);
      }
    }
    if (options.body !== undefined) headers.set('content-type', 'application/json');
    if (idempotencyKey) headers.set('idempotency-key', idempotencyKey);
    for (const [k, v] of Object.entries(options.headers ?? {})) {
      if (v === null || v === undefined) headers.delete(k);
      else headers.set(k, v);
    }
    return { headers, token };
  }

  /** One HTTP exchange under the timeout. The body is read here too, unless the caller streams a success. */
  private async attempt(
    url: string,
    method: string,
    headers: Headers,
    options: RequestOptions,
    stream: boolean,
  ): Promise<{ response: Response; body: unknown }> {
    const timeout = options.timeout ?? this.timeout;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeout);
    const onAbort = () => controller.abort();
    if (options.signal?.aborted) throw new APIUserAbortError('Request was aborted');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const body = options.body !== undefined ? JSON.stringify(options.body) : options.rawBody;
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body, signal: controller.signal };
    if (isStreamBody(body)) init.duplex = 'half'; // required by fetch for streamed request bodies
    let streaming = false;
    try {
      const response = await this.fetchImpl(url, init);
      if (stream && response.ok) {
        streaming = true;
        return { response, body: undefined };
      }
      return { response, body: await decodeBody(response) };
    } catch (err) {
      if (options.signal?.aborted) throw new APIUserAbortError('Request was aborted', { cause: err });
      if (timedOut) throw new APITimeoutError(`Request timed out after ${timeout} ms: ${method} ${redactURL(url)}`, { cause: err });
      throw new APIConnectionError(`Cannot reach ${new URL(url).origin}: ${causeOf(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      if (!streaming) options.signal?.removeEventListener('abort', onAbort);
    }
  }
}

function retryAfterOf(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN);
  return Number.isFinite(ms) && ms >= 0 ? ms : parseRetryAfter(headers.get('retry-after'));
}

function isStreamBody(body: unknown): boolean {
  return typeof ReadableStream !== 'undefined' && body instanceof ReadableStream;
}

async function decodeBody(response: Response): Promise<unknown> {
  if (response.status === 204 || response.status === 304) {
    await response.body?.cancel();
    return undefined;
  }
  const text = await response.text();
  if (!text) return undefined;
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json') || /^[[{]/.test(text.trimStart())) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

function causeOf(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

/** Query values that can carry secrets (pre-signed URL signatures, tokens) never reach the log. */
function redactURL(url: string): string {
  const u = new URL(url);
  for (const key of [...u.searchParams.keys()]) if (SENSITIVE_QUERY.test(key)) u.searchParams.set(key, '***');
  return u.toString().replace(/%2A%2A%2A/g, '***');
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
const elapsed = (started: number) => Math.round((now() - started) * 10) / 10;

/** Builds a path with every interpolated value percent-encoded: path`/content/${id}`. */
export function path(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}

/** The `data` of an `/api/v1` envelope (still an {@link APIPromise}, so `.withResponse()` works). */
export function dataOf<T>(envelope: APIPromise<{ data: T } | undefined>): APIPromise<T> {
  return envelope.map((e) => e?.data as T);
}

/** What every SDK call returns: a promise of the parsed answer that can also give the HTTP response. */
export class APIPromise<T> extends Promise<T> {
  private parsed?: Promise<T>;

  /** @internal */
  constructor(
    private readonly exchange: Promise<{ response: Response; body: unknown }>,
    private readonly parse: (body: unknown) => T,
  ) {
    super((resolve) => resolve(undefined as T)); // never read: then/catch/finally use `exchange`
  }

  /** @internal The same call with its answer mapped (the envelope's `data`, say). */
  map<U>(fn: (value: T) => U): APIPromise<U> {
    return new APIPromise(this.exchange, (body) => fn(this.parse(body)));
  }

  /**
   * The parsed answer and the HTTP `Response` it came in (its body already read).
   * @example
   * const { data: ds, response } = await loam.datasets.get(id).withResponse();
   * await loam.datasets.update(id, { description: 'x' }, { ifMatch: response.headers.get('etag') ?? undefined });
   */
  async withResponse(): Promise<{ data: T; response: Response }> {
    const [data, { response }] = await Promise.all([this.value(), this.exchange]);
    return { data, response };
  }

  /** The HTTP `Response` alone (its body already read): status and headers. */
  async asResponse(): Promise<Response> {
    return (await this.exchange).response;
  }

  private value(): Promise<T> {
    this.parsed ??= this.exchange.then(({ body }) => this.parse(body));
    return this.parsed;
  }

  // The `reason: any` of the standard Promise signatures, so `.catch((e) => e.status)` type-checks as on any promise.
  // biome-ignore lint/suspicious/noThenProperty: an APIPromise is a promise
  override then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    // biome-ignore lint/suspicious/noExplicitAny: as Promise.prototype.then
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.value().then(onfulfilled, onrejected);
  }

  // biome-ignore lint/suspicious/noExplicitAny: as Promise.prototype.catch
  override catch<R = never>(onrejected?: ((reason: any) => R | PromiseLike<R>) | null): Promise<T | R> {
    return this.value().catch(onrejected);
  }

  override finally(onfinally?: (() => void) | null): Promise<T> {
    return this.value().finally(onfinally);
  }
}

/** Base of every resource class. */
export abstract class APIResource {
  constructor(protected readonly client: LoamCore) {}
}
