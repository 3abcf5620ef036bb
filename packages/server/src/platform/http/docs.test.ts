import swagger from '@fastify/swagger';
import { Type } from '@sinclair/typebox';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { docsRoutes } from './docs.js';
import { type LoamApp, createHttpServer } from './server.js';

const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'Docs test', version: '1.0.0' },
  components: { securitySchemes: { bearer: { type: 'http' as const, scheme: 'bearer' } } },
};

const Node = Type.Recursive((This) => Type.Object({ name: Type.String(), children: Type.Array(This) }), { $id: 'Node' });
const Thing = Type.Object({ id: Type.String(), size: Type.Integer({ minimum: 0 }), tree: Type.Optional(Node) });

/** Routes of the kinds Loam registers: params, query, body, responses, a prefix, a hidden route. */
async function someRoutes(app: LoamApp): Promise<void> {
  app.get(
    '/api/v1/things/:id',
    {
      schema: {
        tags: ['Things'],
        summary: 'One thing',
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ expand: Type.Optional(Type.Boolean()) }),
        response: { 200: Thing, 404: Type.Object({ code: Type.String() }) },
      },
    },
    async () => ({ id: 'x', size: 1 }),
  );
  app.post(
    '/api/v1/things',
    { schema: { tags: ['Things'], body: Type.Object({ size: Type.Integer() }), response: { 201: Thing } } },
    async () => ({ id: 'x', size: 1 }),
  );
  app.delete('/api/v1/things/:id', { schema: { tags: ['Things'], params: Type.Object({ id: Type.String() }) } }, async () => null);
  app.get('/secret', { schema: { hide: true } }, async () => 'no');
  await app.register(
    async (scope) => {
      scope.get(
        '/health',
        { schema: { tags: ['Prefixed'], response: { 200: Type.Object({ status: Type.Literal('ok') }) } } },
        async () => ({
          status: 'ok' as const,
        }),
      );
    },
    { prefix: '/auth' },
  );
}

describe('OpenAPI document and Swagger UI, built on first request', () => {
  let t: TestLoam;
  let app: LoamApp;
  beforeAll(async () => {
    t = await createTestLoam({ http: false });
    app = await createHttpServer({ platform: t.loam.platform, tierOf: async () => 'free' });
    docsRoutes(app, OPENAPI);
    await someRoutes(app);
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await t?.close();
  });

  it('/openapi.json is the document @fastify/swagger builds when registered before the routes', async () => {
    const eager = Fastify() as unknown as LoamApp;
    await eager.register(swagger, { openapi: OPENAPI });
    await someRoutes(eager);
    await eager.ready();
    const expected = JSON.parse(JSON.stringify(eager.swagger()));
    await eager.close();

    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc).toEqual(expected);
    expect(Object.keys(doc.paths)).toEqual(['/api/v1/things/{id}', '/api/v1/things', '/auth/health']);
    expect(doc.paths['/api/v1/things/{id}'].head).toBeUndefined();
    expect(doc.paths['/secret']).toBeUndefined();
  });

  it('/docs serves the Swagger UI through the app (HEAD, redirects, caching, compression)', async () => {
    const page = await app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toMatch(/swagger-ui/i);
    expect(page.headers['x-request-id']).toMatch(/^req_/); // answered by the app, with its hooks

    const head = await app.inject({ method: 'HEAD', url: '/docs/' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    expect(Number(head.headers['content-length'])).toBe(page.rawPayload.length);

    const moved = await app.inject({ method: 'GET', url: '/docs/static/index.html' });
    expect(moved.statusCode).toBe(302);
    expect(moved.headers.location).toBe('/docs/');
    expect(moved.headers['content-type']).toBeUndefined();

    const css = await app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css', headers: { 'accept-encoding': 'gzip' } });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.headers['content-encoding']).toBe('gzip');
    expect(css.headers.etag).toBeDefined();
    const cached = await app.inject({
      method: 'GET',
      url: '/docs/static/swagger-ui.css',
      headers: { 'if-none-match': String(css.headers.etag) },
    });
    expect(cached.statusCode).toBe(304);
    expect(cached.body).toBe('');

    const spec = await app.inject({ method: 'GET', url: '/docs/json' });
    expect(spec.json()).toEqual((await app.inject({ method: 'GET', url: '/openapi.json' })).json());
  });

  it('a missing /docs file is a 404 in the error format of non-/api/v1 routes', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs/static/missing.js' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: 'not_found', error_description: 'No route for GET /docs/static/missing.js' });
  });
});
