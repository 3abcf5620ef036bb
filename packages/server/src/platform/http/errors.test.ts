import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { AppError } from '../errors.js';

/** Every error path of the HTTP layer, in both route families' formats. */
describe('HTTP error rendering', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ http: false, config: { bodyLimit: 2048 } });
    const app = await t.loam.http();
    const body = Type.Object({ name: Type.String({ minLength: 1 }), size: Type.Optional(Type.Integer({ minimum: 0 })) });
    const query = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })) });
    for (const prefix of ['/api/v1/test', '/test']) {
      app.post(`${prefix}/echo`, { schema: { body, querystring: query } }, async (req) => req.body);
      app.get(`${prefix}/app-error`, async () => {
        throw new AppError('conflict', 409, 'Already there', [{ field: 'name', code: 'duplicate', message: 'name is taken' }]);
      });
      app.get(`${prefix}/boom`, async () => {
        throw new Error('secret internals: SELECT * FROM users');
      });
    }
    await app.ready();
    t.app = app;
  });
  afterAll(() => t.close());

  const problemShape = (body: Record<string, unknown>, status: number, code: string) => {
    expect(body).toMatchObject({
      status,
      code,
      title: expect.any(String),
      detail: expect.any(String),
      type: `https://loam.dev/errors/${code.replaceAll('_', '-')}`,
    });
    expect(body.request_id).toMatch(/^req_/);
    expect(body.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(typeof body.instance).toBe('string');
  };

  it('unknown route: 404 problem+json under /api/v1, Atriumn pair elsewhere', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/api/v1/does-not-exist' });
    expect(a.statusCode).toBe(404);
    expect(a.headers['content-type']).toMatch(/^application\/problem\+json/);
    problemShape(a.json(), 404, 'not_found');
    const b = await t.app.inject({ method: 'GET', url: '/does-not-exist' });
    expect(b.statusCode).toBe(404);
    expect(b.json()).toEqual({ error: 'not_found', error_description: expect.any(String), request_id: expect.stringMatching(/^req_/) });
  });

  it('known path, wrong method: 405 with Allow', async () => {
    const a = await t.app.inject({ method: 'DELETE', url: '/api/v1/test/echo' });
    expect(a.statusCode).toBe(405);
    expect(a.headers.allow).toContain('POST');
    problemShape(a.json(), 405, 'method_not_allowed');
    const b = await t.app.inject({ method: 'PUT', url: '/test/echo' });
    expect(b.statusCode).toBe(405);
    expect(b.json().error).toBe('method_not_allowed');
  });

  it('body over the limit: 413', async () => {
    const payload = JSON.stringify({ name: 'x'.repeat(5000) });
    const a = await t.app.inject({ method: 'POST', url: '/api/v1/test/echo', payload, headers: { 'content-type': 'application/json' } });
    expect(a.statusCode).toBe(413);
    problemShape(a.json(), 413, 'payload_too_large');
    const b = await t.app.inject({ method: 'POST', url: '/test/echo', payload, headers: { 'content-type': 'application/json' } });
    expect(b.statusCode).toBe(413);
    expect(b.json().error).toBe('payload_too_large');
  });

  it('unsupported content type: 415', async () => {
    const a = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test/echo',
      payload: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(a.statusCode).toBe(415);
    problemShape(a.json(), 415, 'unsupported_media_type');
    const b = await t.app.inject({ method: 'POST', url: '/test/echo', payload: '<x/>', headers: { 'content-type': 'application/xml' } });
    expect(b.statusCode).toBe(415);
    expect(b.json().error).toBe('unsupported_media_type');
  });

  it('malformed JSON: 400', async () => {
    const a = await t.app.inject({
      method: 'POST',
      url: '/api/v1/test/echo',
      payload: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(a.statusCode).toBe(400);
    problemShape(a.json(), 400, 'invalid_request');
    const b = await t.app.inject({
      method: 'POST',
      url: '/test/echo',
      payload: '{"name": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(b.statusCode).toBe(400);
    expect(b.json().error).toBe('invalid_request');
  });

  it('schema validation: 400 naming the field', async () => {
    const a = await t.app.inject({ method: 'POST', url: '/api/v1/test/echo', payload: { size: 1 } });
    expect(a.statusCode).toBe(400);
    const body = a.json();
    problemShape(body, 400, 'validation_error');
    expect(body.errors).toEqual([{ field: 'name', code: 'required_field_missing', message: expect.stringContaining('name') }]);
    const b = await t.app.inject({ method: 'POST', url: '/test/echo', payload: { size: 1 } });
    expect(b.statusCode).toBe(400);
    expect(b.json()).toMatchObject({ error: 'validation_error', error_description: expect.stringContaining('name') });
  });

  it('invalid query parameter: 400 invalid_param', async () => {
    const a = await t.app.inject({ method: 'POST', url: '/test/echo?limit=0', payload: { name: 'x' } });
    expect(a.statusCode).toBe(400);
    expect(a.json()).toMatchObject({ error: 'invalid_param', error_description: expect.stringContaining('limit') });
  });

  it('AppError keeps its status, code and field errors', async () => {
    const a = await t.app.inject({ method: 'GET', url: '/api/v1/test/app-error' });
    expect(a.statusCode).toBe(409);
    const body = a.json();
    problemShape(body, 409, 'conflict');
    expect(body.errors).toEqual([{ field: 'name', code: 'duplicate', message: 'name is taken' }]);
    const b = await t.app.inject({ method: 'GET', url: '/test/app-error' });
    expect(b.json()).toMatchObject({ error: 'conflict', error_description: 'Already there' });
  });

  it('unexpected error: 500 without internals', async () => {
    for (const url of ['/api/v1/test/boom', '/test/boom']) {
      const r = await t.app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(500);
      expect(r.body).not.toContain('SELECT');
      expect(r.body).not.toContain('secret internals');
      const body = r.json();
      expect(body.code ?? body.error).toBe('internal_error');
      expect(body.request_id).toMatch(/^req_/);
    }
  });

  it('X-Request-ID is accepted and echoed, or generated', async () => {
    const given = await t.app.inject({ method: 'GET', url: '/api/v1/nope', headers: { 'x-request-id': 'client-abc.123' } });
    expect(given.headers['x-request-id']).toBe('client-abc.123');
    expect(given.json().request_id).toBe('client-abc.123');
    const bad = await t.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'has spaces <and> junk' } });
    expect(bad.headers['x-request-id']).toMatch(/^req_[0-9a-f]{16}[0-9a-z]+$/);
  });

  // Fastify's own errors (bad URL encoding, over-long path parameters) speak Loam's two formats,
  // with a request id, and never echo the whole URL back.
  it('a malformed URL encoding is a 400 in each family, without the URL echoed', async () => {
    for (const [url, atriumn] of [
      ['/api/v1/datasets/%FF', false],
      ['/content/%FF%FE', true],
    ] as const) {
      const r = await t.app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(400);
      expect(r.body).not.toContain('FST_ERR');
      if (atriumn) {
        expect(r.json()).toMatchObject({
          error: 'invalid_request',
          error_description: expect.any(String),
          request_id: expect.stringMatching(/^req_/),
        });
      } else {
        expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
        problemShape(r.json(), 400, 'invalid_request');
      }
    }
  });

  it('an over-long path parameter is a 414 in each family, without the parameter echoed', async () => {
    const long = 'x'.repeat(501);
    for (const [url, atriumn] of [
      [`/api/v1/datasets/${long}`, false],
      [`/content/${long}`, true],
    ] as const) {
      const r = await t.app.inject({ method: 'GET', url, headers: { 'x-api-key': t.adminKey } });
      expect(r.statusCode).toBe(414);
      expect(r.body).not.toContain(long);
      expect(r.body).not.toContain('FST_ERR');
      if (atriumn) expect(r.json()).toMatchObject({ error: 'uri_too_long', request_id: expect.stringMatching(/^req_/) });
      else problemShape(r.json(), 414, 'uri_too_long');
    }
  });
});

describe('HTTP error rendering, default limits', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam();
  });
  afterAll(() => t.close());

  it('input echoed in an error is truncated', async () => {
    const huge = 'A'.repeat(300_000);
    const r = await t.app.inject({ method: 'POST', url: '/auth/token', payload: { grant_type: huge } });
    expect(r.statusCode).toBe(400);
    expect(r.body.length).toBeLessThan(2_000);
    expect(r.json().error_description).toContain('(truncated)');
    const v1 = await t.app.inject({ method: 'POST', url: '/api/v1/datasets', headers: t.admin, payload: { name: huge } });
    expect(v1.statusCode).toBe(400);
    expect(v1.body.length).toBeLessThan(4_000);
  });
});

describe('tenant ids named by a platform admin', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam();
  });
  afterAll(() => t.close());

  it('a malformed tenant id is a 400 and an unknown one a 404, on every route that accepts one; no tenant is created', async () => {
    const admin = { ...t.admin, 'content-type': 'application/json' };
    for (const bad of ['../../../../etc/passwd', '\u0000\u202e\ud800x', 'a/b', '']) {
      for (const [method, url, body] of [
        ['POST', '/ingest/text', { content: 'hello', tenantId: bad }],
        ['POST', '/generate-upload-url', { filename: 'a.txt', contentType: 'text/plain', tenantId: bad }],
      ] as const) {
        const r = await t.app.inject({ method, url, headers: admin, payload: body });
        if (bad === '') expect(r.statusCode).toBeLessThan(500);
        else {
          expect(r.statusCode, `${url} ${JSON.stringify(bad)}`).toBe(400);
          expect(r.json().error).toBe('invalid_tenant_id');
        }
      }
    }
    const unknown = await t.app.inject({
      method: 'POST',
      url: '/ingest/text',
      headers: admin,
      payload: { content: 'hello', tenantId: 'no-such-tenant' },
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toBe('tenant_not_found');
    const listed = await t.app.inject({ method: 'GET', url: '/content?tenantId=no-such-tenant', headers: t.admin });
    expect(listed.statusCode).toBe(404);
    expect(await t.loam.services.tenants.get('no-such-tenant')).toBeUndefined();
    // The admin's own tenant, named explicitly, still works.
    const own = await t.app.inject({
      method: 'POST',
      url: '/ingest/text',
      headers: admin,
      payload: { content: 'hello', tenantId: 'default' },
    });
    expect(own.statusCode).toBeLessThan(300);
  });
});
