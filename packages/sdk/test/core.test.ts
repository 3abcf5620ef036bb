/**
 * The SDK's transport against a local HTTP server that fails on purpose (node:http): retries,
 * backoff, Retry-After, idempotency keys, timeouts, typed errors, token refresh, streaming.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type APIError,
  APIConnectionError,
  APITimeoutError,
  APIUserAbortError,
  AuthenticationError,
  ConflictError,
  InternalServerError,
  Loam,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  ValidationError,
  backoffDelay,
  parseRetryAfter,
  parseSSE,
} from '../src/index.js';
import { TokenCache } from '../src/token.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}
type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A server answering with scripted handlers, one per request (the last one repeats). */
class FailingServer {
  seen: Seen[] = [];
  private script: Handler[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now() });
        const handler = this.script.length > 1 ? this.script.shift()! : this.script[0];
        handler(req, res, body);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  answer(...handlers: Handler[]): this {
    this.script = handlers;
    this.seen = [];
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

/** The error a call failed with (the test fails if it succeeded). */
async function failure(p: Promise<unknown>): Promise<APIError & { retryAfter?: number }> {
  return p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e) => e,
  );
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, {
      'content-type': status >= 400 && 'type' in (body as object) ? 'application/problem+json' : 'application/json',
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
const ok = json(200, { ok: true });
const unavailable = json(503, { error: 'internal_error', error_description: 'try again' });

let server: FailingServer;
let logs: string[];
const client = (opts: ConstructorParameters<typeof Loam>[0] = {}) =>
  new Loam({ baseURL: server.url, apiKey: 'loam_sk_secret_key_value', debug: true, logger: (l) => logs.push(l), ...opts });

beforeEach(async () => {
  server = new FailingServer();
  await server.start();
  logs = [];
});
afterEach(async () => {
  await server.stop();
  vi.unstubAllEnvs();
});

describe('retries', () => {
  it('retries 5xx with backoff and succeeds', async () => {
    server.answer(unavailable, unavailable, ok);
    const loam = client();
    await expect(loam.request('GET', '/thing')).resolves.toEqual({ ok: true });
    expect(server.seen).toHaveLength(3);
    const m = loam.metrics();
    expect(m).toMatchObject({ requests: 3, retries: 2, errors: 0 });
    expect(m.latency.count).toBe(3);
    // Planned delays: 0.5 s then 1 s, each minus at most 25 % jitter.
    const delays = logs.flatMap((l) => /retry \d in (\d+) ms/.exec(l)?.[1] ?? []).map(Number);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(375);
    expect(delays[0]).toBeLessThanOrEqual(500);
    expect(delays[1]).toBeGreaterThanOrEqual(750);
    expect(delays[1]).toBeLessThanOrEqual(1000);
  });

  it('gives up after maxRetries with a typed error', async () => {
    server.answer(json(500, { error: 'internal_error', error_description: 'boom', request_id: 'req_1' }));
    const loam = client({ maxRetries: 1 });
    const err = await failure(loam.request('GET', '/thing'));
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err).toMatchObject({ status: 500, code: 'internal_error', detail: 'boom', requestId: 'req_1' });
    expect(server.seen).toHaveLength(2);
    expect(loam.metrics()).toMatchObject({ requests: 2, retries: 1, errors: 1 });
  });

  it('retries 408 and 429, not other 4xx', async () => {
    server.answer(
      json(408, { error: 'timeout', error_description: 'slow' }),
      json(429, { error: 'rate_limited', error_description: 'x' }, { 'retry-after': '0' }),
      ok,
    );
    await client().request('GET', '/a');
    expect(server.seen).toHaveLength(3);
    server.answer(json(400, { error: 'invalid_request', error_description: 'no' }));
    await expect(client().request('GET', '/a')).rejects.toThrow(/invalid_request/);
    expect(server.seen).toHaveLength(1);
  });

  it('honours Retry-After', async () => {
    server.answer(json(429, { error: 'rate_limited', error_description: 'wait' }, { 'retry-after': '1' }), ok);
    await client().request('GET', '/limited');
    expect(logs.some((l) => l.includes('retry 1 in 1000 ms after HTTP 429'))).toBe(true);
    expect(server.seen[1].at - server.seen[0].at).toBeGreaterThanOrEqual(950);
  });

  it('does not sit out a Retry-After longer than a minute: RateLimitError with retryAfter', async () => {
    server.answer(json(429, { error: 'rate_limited', error_description: 'daily cap' }, { 'retry-after': '120' }));
    const err = await failure(client().request('GET', '/limited'));
    expect(err).toBeInstanceOf(RateLimitError);
    expect(err.retryAfter).toBe(120);
    expect(server.seen).toHaveLength(1);
  });

  it('retries a POST under one Idempotency-Key, generated by the SDK or given by the caller', async () => {
    server.answer(unavailable, ok);
    await client().request('POST', '/things', { body: { a: 1 } });
    const keys = server.seen.map((s) => s.headers['idempotency-key']);
    expect(keys[0]).toMatch(/^sdk_/);
    expect(keys[1]).toBe(keys[0]);
    expect(server.seen[1].body).toBe('{"a":1}');

    server.answer(unavailable, ok);
    await client().request('POST', '/things', { body: {}, idempotencyKey: 'mine-1' });
    expect(server.seen.map((s) => s.headers['idempotency-key'])).toEqual(['mine-1', 'mine-1']);
  });

  it('never retries a request whose body was a one-shot stream', async () => {
    server.answer(unavailable, ok);
    const body = new Blob(['streamed']).stream();
    await expect(client().request('POST', '/upload', { rawBody: body })).rejects.toBeInstanceOf(InternalServerError);
    expect(server.seen).toHaveLength(1);
    expect(server.seen[0].body).toBe('streamed');
  });

  it('retries a dropped connection, and reports an unreachable server as APIConnectionError', async () => {
    server.answer((req) => req.socket.destroy(), ok);
    await expect(client().request('GET', '/flaky')).resolves.toEqual({ ok: true });
    expect(server.seen).toHaveLength(2);

    const dead = new Loam({ baseURL: await closedPort(), apiKey: 'k', maxRetries: 1 });
    const err = await failure(dead.request('GET', '/x'));
    expect(err).toBeInstanceOf(APIConnectionError);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(dead.metrics()).toMatchObject({ requests: 2, retries: 1, errors: 1 });
  });

  it('times out with APITimeoutError', async () => {
    server.answer((_req, res) => setTimeout(() => res.end('{}'), 2000));
    const err = await failure(client({ timeout: 100, maxRetries: 0 }).request('GET', '/slow'));
    expect(err).toBeInstanceOf(APITimeoutError);
    expect(err).toBeInstanceOf(APIConnectionError);
  });

  it('stops at once when the caller aborts', async () => {
    server.answer((_req, res) => setTimeout(() => res.end('{}'), 2000));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(client().request('GET', '/slow', { signal: controller.signal })).rejects.toBeInstanceOf(APIUserAbortError);
    expect(server.seen).toHaveLength(1);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('computes backoff as 0.5 s · 2^n minus up to 25 % jitter, capped at 8 s', () => {
    expect(backoffDelay(0, () => 0)).toBe(500);
    expect(backoffDelay(0, () => 1)).toBe(375);
    expect(backoffDelay(3, () => 0)).toBe(4000);
    expect(backoffDelay(10, () => 0)).toBe(8000);
  });
});

describe('errors', () => {
  const cases: [number, unknown, unknown][] = [
    [401, { error: 'invalid_token', error_description: 'expired' }, AuthenticationError],
    [403, { type: 'x', title: 'Forbidden', status: 403, detail: 'nope', code: 'forbidden', request_id: 'req_2' }, PermissionDeniedError],
    [404, { error: 'not_found', error_description: 'Content item not found' }, NotFoundError],
    [404, { type: 'x', title: 'Not Found', status: 404, detail: 'Dataset not found', code: 'not_found', request_id: 'r' }, NotFoundError],
    [409, { error: 'conflict', error_description: 'exists' }, ConflictError],
  ];
  it.each(cases)('maps %i in either format to the same class', async (status, body, Cls) => {
    server.answer(json(status, body));
    const err = await failure(client().request('GET', '/x'));
    expect(err).toBeInstanceOf(Cls);
    expect(err.status).toBe(status);
    expect(err.code).toBe((body as { code?: string; error?: string }).code ?? (body as { error: string }).error);
    expect(err.detail).toMatch(/\w/);
  });

  it('ValidationError carries field errors (problem+json) and validation_error (Atriumn)', async () => {
    server.answer(
      json(400, {
        type: 'https://loam.dev/errors/validation-error',
        title: 'Validation Error',
        status: 400,
        detail: "The 'schema' field is required",
        code: 'validation_error',
        request_id: 'req_3',
        errors: [{ field: 'schema', code: 'required_field_missing', message: 'required' }],
      }),
    );
    const err = await failure(client().request('POST', '/api/v1/datasets', { body: {} }));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err.fields).toEqual([{ field: 'schema', code: 'required_field_missing', message: 'required' }]);
    expect(err.requestId).toBe('req_3');

    server.answer(json(400, { error: 'validation_error', error_description: 'filename is required' }));
    const atriumn = await failure(client().request('POST', '/generate-upload-url', { body: {} }));
    expect(atriumn).toBeInstanceOf(ValidationError);
    expect(atriumn.detail).toBe('filename is required');
  });
});

describe('requests', () => {
  it('encodes queries form-style: sorted keys, repeated lists, no "?" when empty', async () => {
    server.answer(ok);
    const loam = client();
    await loam.request('GET', '/prompts', { query: { tags: ['a b', 'c'], modelId: 'gpt', nextToken: undefined } });
    await loam.request('GET', '/prompts', { query: { nextToken: undefined } });
    expect(server.seen.map((s) => s.url)).toEqual(['/prompts?modelId=gpt&tags=a+b&tags=c', '/prompts']);
  });

  it('reads every option from the environment', async () => {
    server.answer(ok);
    vi.stubEnv('LOAM_API_BASE_URL', server.url);
    vi.stubEnv('LOAM_API_KEY', 'loam_sk_from_env');
    vi.stubEnv('LOAM_REQUEST_TIMEOUT', '1234');
    const loam = new Loam();
    expect(loam.timeout).toBe(1234);
    await loam.request('GET', '/x');
    expect(server.seen[0].headers['x-api-key']).toBe('loam_sk_from_env');
  });

  it('LOAM_DEBUG logs requests without secrets', async () => {
    server.answer(ok);
    vi.stubEnv('LOAM_DEBUG', '1');
    const lines: string[] = [];
    const loam = new Loam({ baseURL: server.url, apiKey: 'loam_sk_secret_key_value', logger: (l) => lines.push(l) });
    await loam.request('PUT', `${server.url}/blobs/t/1/a.txt?expires=1&signature=abcdef0123`, { auth: false, rawBody: 'x' });
    await loam.request('GET', '/content');
    const all = lines.join('\n');
    expect(all).toContain('GET');
    expect(all).toContain('/content');
    expect(all).toContain('200');
    expect(all).not.toContain('loam_sk_secret_key_value');
    expect(all).not.toContain('abcdef0123');
  });

  it('healthCheck reports unreachable servers without throwing', async () => {
    server.answer(json(503, { status: 'not_ready', checks: { database: { ok: false } } }));
    await expect(client().healthCheck()).resolves.toMatchObject({ ok: false, status: 'not_ready', checks: { database: { ok: false } } });
    const dead = await new Loam({ baseURL: await closedPort() }).healthCheck();
    expect(dead).toMatchObject({ ok: false, status: 'unreachable' });
  });
});

describe('client credentials', () => {
  const tokenServer = () => {
    let issued = 0;
    const handler: Handler = (req, res, body) => {
      if (req.url === '/auth/token') {
        issued++;
        const b = JSON.parse(body);
        if (b.client_secret !== 's3cret') return json(401, { error: 'invalid_client', error_description: 'bad secret' })(req, res, body);
        // Delay the answer so concurrent callers really overlap.
        return setTimeout(
          () => json(200, { access_token: `tok${issued}`, token_type: 'Bearer', expires_in: 3600, scope: b.scope })(req, res, body),
          50,
        );
      }
      const valid = `Bearer tok${issued}`;
      if (req.headers.authorization !== valid) return json(401, { error: 'invalid_token', error_description: 'revoked' })(req, res, body);
      json(200, { ok: true, as: req.headers.authorization })(req, res, body);
    };
    return { handler, issued: () => issued, revoke: () => issued++ };
  };

  it('fetches the token on first use and shares one fetch between concurrent calls', async () => {
    const t = tokenServer();
    server.answer(t.handler);
    const loam = new Loam({ baseURL: server.url, clientCredentials: { clientId: 'c1', clientSecret: 's3cret', scope: 'storage ingest' } });
    expect(t.issued()).toBe(0);
    const results = await Promise.all(Array.from({ length: 10 }, () => loam.request<{ as: string }>('GET', '/x')));
    expect(results.every((r) => r.as === 'Bearer tok1')).toBe(true);
    expect(t.issued()).toBe(1);
    const tokenCall = server.seen.find((s) => s.url === '/auth/token')!;
    expect(JSON.parse(tokenCall.body)).toEqual({
      grant_type: 'client_credentials',
      client_id: 'c1',
      client_secret: 's3cret',
      scope: 'storage ingest',
    });
    expect(tokenCall.headers.authorization).toBeUndefined();
    expect(loam.metrics().tokenRefreshes).toBe(1);
  });

  it('refreshes once on a 401, for all concurrent callers together', async () => {
    const t = tokenServer();
    server.answer(t.handler);
    const loam = new Loam({ baseURL: server.url, clientCredentials: { clientId: 'c1', clientSecret: 's3cret' } });
    await loam.request('GET', '/x');
    t.revoke(); // the server now only accepts tok2, which it issues next
    const results = await Promise.all(Array.from({ length: 5 }, () => loam.request<{ as: string }>('GET', '/x')));
    expect(results.every((r) => r.as === 'Bearer tok3')).toBe(true);
    expect(server.seen.filter((s) => s.url === '/auth/token')).toHaveLength(2);
  });

  it('refreshes only once per call: a token still rejected ends in AuthenticationError', async () => {
    server.answer((req, res, body) =>
      req.url === '/auth/token'
        ? json(200, { access_token: 'never-accepted', token_type: 'Bearer', expires_in: 3600 })(req, res, body)
        : json(401, { error: 'invalid_token', error_description: 'no' })(req, res, body),
    );
    const loam = new Loam({ baseURL: server.url, clientCredentials: { clientId: 'c1', clientSecret: 's3cret' } });
    await expect(loam.request('GET', '/x')).rejects.toBeInstanceOf(AuthenticationError);
    expect(server.seen.map((s) => s.url)).toEqual(['/auth/token', '/x', '/auth/token', '/x']);
  });

  it('a bad secret surfaces as AuthenticationError invalid_client', async () => {
    server.answer(tokenServer().handler);
    const loam = new Loam({ baseURL: server.url, clientCredentials: { clientId: 'c1', clientSecret: 'wrong' } });
    await expect(loam.request('GET', '/x')).rejects.toMatchObject({ status: 401, code: 'invalid_client' });
  });

  it('reads client credentials from LOAM_CLIENT_ID / LOAM_CLIENT_SECRET', async () => {
    const t = tokenServer();
    server.answer(t.handler);
    vi.stubEnv('LOAM_API_KEY', '');
    vi.stubEnv('LOAM_CLIENT_ID', 'c1');
    vi.stubEnv('LOAM_CLIENT_SECRET', 's3cret');
    const loam = new Loam({ baseURL: server.url });
    await expect(loam.request('GET', '/x')).resolves.toMatchObject({ as: 'Bearer tok1' });
  });

  it('the cache refreshes 5 minutes before expiry', async () => {
    let now = 0;
    let fetched = 0;
    const cache = new TokenCache(
      async () => ({ access_token: `t${++fetched}`, expires_in: 3600 }),
      () => now,
    );
    expect(await cache.get()).toBe('t1');
    now = (3600 - 301) * 1000;
    expect(await cache.get()).toBe('t1');
    now = (3600 - 299) * 1000;
    expect(await cache.get()).toBe('t2');
    cache.invalidate('t1'); // stale token: ignored
    expect(await cache.get()).toBe('t2');
    cache.invalidate('t2');
    expect(await cache.get()).toBe('t3');
  });
});

describe('streaming', () => {
  it('parses SSE across arbitrary chunk boundaries', async () => {
    const text = ': heartbeat\r\ndata: {"type":"start"}\r\n\r\nevent: x\ndata: line1\ndata: line2\n\nid: 7\ndata:no-space\r\r';
    for (const size of [1, 2, 3, 7, text.length]) {
      const bytes = new TextEncoder().encode(text);
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
          c.close();
        },
      });
      const events = [];
      for await (const e of parseSSE(stream)) events.push(e);
      expect(events).toEqual([{ data: '{"type":"start"}' }, { event: 'x', data: 'line1\nline2' }, { id: '7', data: 'no-space' }]);
    }
  });

  it('a stream can be cancelled with an AbortSignal, closing the connection', async () => {
    let closed = false;
    server.answer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"type":"text-delta","delta":"a"}\n\n');
      const timer = setInterval(() => res.write('data: {"type":"text-delta","delta":"b"}\n\n'), 20);
      req.socket.on('close', () => {
        closed = true;
        clearInterval(timer);
      });
    });
    const controller = new AbortController();
    const stream = client().prompts.generate('p1', { stream: true }, { signal: controller.signal });
    const parts: unknown[] = [];
    const run = (async () => {
      for await (const part of stream) {
        parts.push(part);
        if (parts.length === 3) controller.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(APIUserAbortError);
    expect(parts).toHaveLength(3);
    expect(parts[0]).toEqual({ type: 'text-delta', delta: 'a' });
    expect(server.seen[0].headers.accept).toBe('text/event-stream');
    expect(JSON.parse(server.seen[0].body)).toEqual({ stream: true });
    await vi.waitFor(() => expect(closed).toBe(true));
  });

  it('an error part ends the stream with a typed error', async () => {
    server.answer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        'data: {"type":"text-delta","delta":"a"}\n\ndata: {"type":"error","error":"llm_unavailable","error_description":"upstream 500"}\n\n',
      );
    });
    const parts: unknown[] = [];
    const err = await (async () => {
      for await (const p of client().prompts.generate('p1', { stream: true })) parts.push(p);
    })().catch((e) => e);
    expect(parts).toHaveLength(1);
    expect(err).toMatchObject({ code: 'llm_unavailable', detail: 'upstream 500' });
  });
});
