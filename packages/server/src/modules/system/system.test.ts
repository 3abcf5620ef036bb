import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';

describeEachDialect('system routes', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect });
  });
  afterAll(() => t.close());

  it('GET /healthz: liveness', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(res.headers['x-request-id']).toMatch(/^req_/);
  });

  it('GET /readyz: 200 when the database answers and every migration is applied', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { database: { ok: true }, migrations: { ok: true }, blob_store: { ok: true } } });
  });

  it('GET /health: the Atriumn health answer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
  });

  it('GET /api/v1/admin/health: components and versions, admins only', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/health' })).statusCode).toBe(401);
    const weak = await t.loam.services.apiKeys.create('default', { name: 'weak', scopes: ['storage'] });
    const forbidden = await t.app.inject({ method: 'GET', url: '/api/v1/admin/health', headers: { 'x-api-key': weak.key } });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json().code).toBe('forbidden');

    const res = await t.app.inject({ method: 'GET', url: '/api/v1/admin/health', headers: t.admin });
    expect(res.statusCode).toBe(200);
    const { data } = res.json();
    expect(data).toMatchObject({ status: 'up', version: expect.any(String), node: process.version, uptime_s: expect.any(Number) });
    const byName = Object.fromEntries(data.components.map((c: { name: string }) => [c.name, c]));
    expect(byName.database).toMatchObject({ kind: dialect, status: 'up', version: expect.any(String) });
    expect(byName.database.version).toMatch(dialect === 'sqlite' ? /^sqlite 3\./ : /^\d+/);
    expect(byName.redis).toMatchObject({ status: 'disabled' });
    expect(byName.jobs).toMatchObject({ status: 'up' });
    expect(byName.event_relay).toMatchObject({ status: 'up', detail: expect.stringMatching(/^lag \d+ events$/) });
  });

  it('GET /api/v1/whoami: the principal behind the credential', async () => {
    const none = await t.app.inject({ method: 'GET', url: '/api/v1/whoami' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('unauthorized');
    const key = await t.loam.services.apiKeys.create('default', { name: 'me', scopes: ['storage:read', 'ai'] });
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { authorization: `Bearer ${key.key}` } });
    expect(res.statusCode).toBe(200);
    expect(res.json().data).toEqual({
      tenant_id: 'default',
      subject: key.id,
      kind: 'api_key',
      scopes: ['storage:read', 'ai'],
      roles: [],
      credential_id: key.id,
    });
    const admin = (await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: t.admin })).json().data;
    expect(admin.roles).toContain('admin');
  });

  it('GET /metrics: Prometheus text with HTTP, job, outbox and process metrics', async () => {
    await t.app.inject({ method: 'GET', url: '/healthz' });
    await t.app.inject({ method: 'GET', url: '/healthz' });
    await t.app.inject({ method: 'GET', url: '/no/such/path/abc123' });
    const res = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.body;
    const healthz = /loam_http_requests_total\{method="GET",route="\/healthz",status="200"\} (\d+)/.exec(text);
    expect(healthz).not.toBeNull();
    expect(Number(healthz?.[1])).toBeGreaterThanOrEqual(2);
    expect(text).toMatch(/loam_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/healthz",status="200"\}/);
    expect(text).toMatch(/loam_http_request_duration_seconds_count\{method="GET",route="\/healthz",status="200"\} \d+/);
    // Unknown paths share one label, so a scanner cannot blow up the series count.
    expect(text).toMatch(/loam_http_requests_total\{method="GET",route="unmatched",status="404"\}/);
    expect(text).not.toContain('abc123');
    expect(text).toMatch(/loam_http_requests_in_flight \d+/);
    expect(text).toMatch(/loam_jobs\{status="queued"\} \d+/);
    expect(text).toMatch(/loam_jobs\{status="dead"\} \d+/);
    expect(text).toMatch(/loam_outbox_lag_events \d+/);
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
    expect(text).toMatch(/process_cpu_user_seconds_total [\d.]+/);
    expect(text).toMatch(/nodejs_eventloop_lag_seconds [\d.e-]+/);
  });

  it('GET /metrics: queue depth follows the jobs table', async () => {
    t.loam.platform.jobs.register('test.metrics', async () => {});
    await t.loam.platform.transaction(async (tx) => {
      for (let i = 0; i < 3; i++) await t.loam.platform.jobs.enqueue(tx, 'test.metrics', { i });
    });
    const text = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/loam_jobs\{status="queued"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(3);
    await t.loam.platform.jobs.drain();
    const after = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(Number(/loam_jobs\{status="queued"\} (\d+)/.exec(after)?.[1])).toBe(0);
    expect(Number(/loam_jobs\{status="succeeded"\} (\d+)/.exec(after)?.[1])).toBeGreaterThanOrEqual(3);
  });

  it('GET /openapi.json: OpenAPI 3.1 generated from the @loam/api schemas', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Loam');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/api-keys', '/api/v1/api-keys/{id}', '/api/v1/api-keys/{id}/rotate', '/api/v1/whoami', '/health']),
    );
    expect(doc.paths['/api/v1/api-keys'].post.requestBody.content['application/json'].schema.required).toContain('name');
    expect(doc.paths['/api/v1/api-keys/{id}'].delete).toBeDefined();
    expect(doc.components.securitySchemes).toMatchObject({ bearer: { type: 'http' }, apiKey: { in: 'header', name: 'X-API-Key' } });
    expect(doc.paths['/metrics']).toBeUndefined();
  });

  it('GET /docs: the interactive API reference', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/docs/' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/swagger-ui/i);
    const bare = await t.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(bare.statusCode);
  });

  it('compresses large responses with gzip or brotli as the client asks', async () => {
    const plain = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    const gz = await t.app.inject({ method: 'GET', url: '/openapi.json', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length);
    expect(JSON.parse(gunzipSync(gz.rawPayload).toString())).toEqual(plain.json());
    const br = await t.app.inject({ method: 'GET', url: '/openapi.json', headers: { 'accept-encoding': 'br, gzip' } });
    expect(br.headers['content-encoding']).toBe('br');
    expect(JSON.parse(brotliDecompressSync(br.rawPayload).toString())).toEqual(plain.json());
    // Small bodies are not worth it.
    const small = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'accept-encoding': 'gzip' } });
    expect(small.headers['content-encoding']).toBeUndefined();
  });

  it('sends no CORS headers unless LOAM_CORS_ORIGINS is set', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://app.example' } });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('system routes: readiness with a pending migration', () => {
  it('GET /readyz answers 503 and names the pending migration', async () => {
    const t = await createTestLoam();
    try {
      await t.loam.platform.database.db.deleteFrom('loam_migrations').where('name', '=', 'apikeys/001_api_keys').execute();
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        status: 'not_ready',
        checks: { database: { ok: true }, migrations: { ok: false, detail: 'pending: apikeys/001_api_keys' }, blob_store: { ok: true } },
      });
      // Liveness is unaffected: the process is alive, just not ready.
      expect((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('GET /readyz answers 503 when the database is gone', async () => {
    const t = await createTestLoam();
    try {
      await t.loam.platform.database.close();
      const res = await t.app.inject({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().checks.database.ok).toBe(false);
    } finally {
      await t.close().catch(() => {});
    }
  });
});

describe('system routes: CORS and the Atriumn prefix', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { corsOrigins: 'https://app.example, https://admin.example', atriumnPrefix: '/atriumn' } });
  });
  afterAll(() => t.close());

  it('answers CORS preflights and requests from the allowed origins only', async () => {
    const pre = await t.app.inject({
      method: 'OPTIONS',
      url: '/api/v1/api-keys',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-api-key' },
    });
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example');
    expect(String(pre.headers['access-control-allow-methods'])).toContain('POST');
    const get = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://admin.example' } });
    expect(get.headers['access-control-allow-origin']).toBe('https://admin.example');
    expect(String(get.headers['access-control-expose-headers'])).toContain('x-request-id');
    const other = await t.app.inject({ method: 'GET', url: '/healthz', headers: { origin: 'https://evil.example' } });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    // The catch-all preflight route does not turn unknown paths into 405s, nor join Allow lists.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/nothing-here' })).statusCode).toBe(404);
    const wrongMethod = await t.app.inject({ method: 'DELETE', url: '/api/v1/whoami' });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers.allow).toContain('GET');
    expect(wrongMethod.headers.allow).not.toContain('OPTIONS');
  });

  it('preflights allow every method and request header the APIs use', async () => {
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const pre = await t.app.inject({
        method: 'OPTIONS',
        url: '/api/v1/datasets/ds_x',
        headers: {
          origin: 'https://app.example',
          'access-control-request-method': method,
          'access-control-request-headers': 'authorization, content-type, idempotency-key, if-match, if-none-match, last-event-id',
        },
      });
      expect(pre.statusCode).toBe(204);
      expect(String(pre.headers['access-control-allow-methods'])).toContain(method);
      const allowed = String(pre.headers['access-control-allow-headers']).toLowerCase();
      for (const h of ['authorization', 'content-type', 'idempotency-key', 'if-match', 'if-none-match', 'last-event-id', 'x-api-key'])
        expect(allowed).toContain(h);
    }
  });

  it('serves the Atriumn routes under LOAM_ATRIUMN_PREFIX as well as at the root', async () => {
    const prefixed = await t.app.inject({ method: 'GET', url: '/atriumn/health' });
    expect(prefixed.statusCode).toBe(200);
    expect(prefixed.json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    // Errors under the prefix use the Atriumn format.
    const missing = await t.app.inject({ method: 'GET', url: '/atriumn/nope' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error).toBe('not_found');
  });
});
