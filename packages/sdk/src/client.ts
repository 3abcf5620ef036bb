import type { ApiKey, ApiKeyWithSecret, CreateApiKey, EnvelopeOf } from '@loam/api';
import { APIConnectionError, APIError, APITimeoutError } from './errors.js';

export interface LoamOptions {
  /** Default: `LOAM_API_BASE_URL`, else http://127.0.0.1:8080. */
  baseURL?: string;
  /** Default: `LOAM_API_KEY`. */
  apiKey?: string;
  accessToken?: string;
  /** Milliseconds per request; default 60 s. */
  timeout?: number;
  fetch?: typeof fetch;
  defaultHeaders?: Record<string, string>;
}

const env = (name: string): string | undefined =>
  (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name];

/**
 * Loam's client.
 * @example
 * const loam = new Loam({ baseURL: 'http://127.0.0.1:8080', apiKey: process.env.LOAM_API_KEY });
 * const keys = await loam.apiKeys.list();
 */
export class Loam {
  readonly baseURL: string;
  private readonly apiKey?: string;
  private readonly accessToken?: string;
  private readonly timeout: number;
  private readonly fetchImpl: typeof fetch;
  private readonly defaultHeaders: Record<string, string>;

  readonly apiKeys = {
    /** @example const { data } = await loam.apiKeys.list(); */
    list: (query: { limit?: number; cursor?: string } = {}) => this.request<EnvelopeOf<ApiKey[]>>('GET', '/api/v1/api-keys', { query }),
    /** The returned `key` is the only time the secret is visible. @example await loam.apiKeys.create({ name: 'ci', scopes: ['ingest'] }) */
    create: (body: CreateApiKey) => this.request<EnvelopeOf<ApiKeyWithSecret>>('POST', '/api/v1/api-keys', { body }),
    /** @example await loam.apiKeys.get('key_01…') */
    get: (id: string) => this.request<EnvelopeOf<ApiKey>>('GET', `/api/v1/api-keys/${encodeURIComponent(id)}`),
    /** @example await loam.apiKeys.revoke('key_01…') */
    revoke: (id: string) => this.request<void>('DELETE', `/api/v1/api-keys/${encodeURIComponent(id)}`),
    /** @example const { data } = await loam.apiKeys.rotate('key_01…'); data.key */
    rotate: (id: string) => this.request<EnvelopeOf<ApiKeyWithSecret>>('POST', `/api/v1/api-keys/${encodeURIComponent(id)}/rotate`),
  };

  constructor(opts: LoamOptions = {}) {
    this.baseURL = (opts.baseURL ?? env('LOAM_API_BASE_URL') ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
    this.apiKey = opts.apiKey ?? env('LOAM_API_KEY');
    this.accessToken = opts.accessToken;
    this.timeout = opts.timeout ?? Number(env('LOAM_REQUEST_TIMEOUT') ?? 60_000);
    this.fetchImpl = opts.fetch ?? fetch;
    this.defaultHeaders = opts.defaultHeaders ?? {};
  }

  /** `true` when the server answers `/readyz` with 200. @example if (await loam.healthCheck()) … */
  async healthCheck(): Promise<boolean> {
    try {
      await this.request('GET', '/readyz');
      return true;
    } catch {
      return false;
    }
  }

  /** Sends one request and decodes the JSON answer; non-2xx answers throw an {@link APIError}. */
  async request<T>(
    method: string,
    path: string,
    opts: {
      body?: unknown;
      query?: Record<string, string | number | boolean | undefined>;
      headers?: Record<string, string>;
      signal?: AbortSignal;
    } = {},
  ): Promise<T> {
    const url = new URL(this.baseURL + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json', ...this.defaultHeaders, ...opts.headers };
    if (this.apiKey) headers['x-api-key'] = this.apiKey;
    else if (this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(this.timeout);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal });
    } catch (err) {
      if (timeout.aborted) throw new APITimeoutError(`request timed out after ${this.timeout} ms`, { cause: err });
      throw new APIConnectionError(`cannot reach ${this.baseURL}: ${(err as Error).message}`, { cause: err });
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    if (!res.ok) throw APIError.from(res.status, body, res.headers);
    return body as T;
  }
}
