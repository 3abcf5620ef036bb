import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { compileSchemasEagerly } from './lazy-compilers.js';
import type { LoamApp } from './server.js';

// Route schemas are compiled on first use in a running server (lazy-compilers.ts); this compiles
// every route's validators and serializers up front, as Fastify would, so a schema that cannot
// compile fails here instead of on the first request to its route.
describe('route schemas', () => {
  let t: TestLoam;
  beforeAll(async () => {
    compileSchemasEagerly(true);
    t = await createTestLoam({ dialect: 'sqlite' });
  });
  afterAll(async () => {
    compileSchemasEagerly(false);
    await t?.close();
  });

  it('every registered route compiles its validation and response schemas', () => {
    const withSchemas = t.app.registeredRoutes().filter((r) => r.schema);
    expect(withSchemas.length).toBeGreaterThan(50);
    // createTestLoam awaited app.ready(), which compiles every route when compiling eagerly.
    expect(t.app.printRoutes().length).toBeGreaterThan(0);
  });

  // Ajv coerces types (`coerceTypes`) and tries `anyOf` branches in order: a null sent to clear a
  // field would become 0, '' or false in an earlier branch. Null must come first.
  it('every nullable request field tries null first, so a null stays null', () => {
    const misplaced: string[] = [];
    const walk = (node: unknown, where: string): void => {
      if (!node || typeof node !== 'object') return;
      const branches = (node as { anyOf?: Array<{ type?: string }> }).anyOf;
      if (branches && branches.findIndex((b) => b.type === 'null') > 0) misplaced.push(where);
      for (const [k, v] of Object.entries(node)) walk(v, `${where}.${k}`);
    };
    for (const r of t.app.registeredRoutes()) {
      const schema = r.schema as Record<string, unknown> | undefined;
      for (const part of ['body', 'querystring', 'params', 'headers']) walk(schema?.[part], `${r.method} ${r.url} ${part}`);
    }
    expect(misplaced).toEqual([]);
  });
});

describe('lazily compiled schemas validate and serialize like eager ones', () => {
  let t: TestLoam;
  let app: LoamApp;
  beforeAll(async () => {
    t = await createTestLoam({ dialect: 'sqlite', http: false });
    app = await t.loam.http();
    app.post(
      '/api/v1/test-lazy/:n',
      {
        schema: {
          params: Type.Object({ n: Type.Integer({ minimum: 1 }) }),
          querystring: Type.Object({ tags: Type.Array(Type.String()), limit: Type.Integer({ default: 20 }) }),
          headers: Type.Object({ 'X-Test-Mode': Type.Union([Type.Literal('a'), Type.Literal('b')]) }),
          body: Type.Object({ name: Type.String({ minLength: 2 }) }, { additionalProperties: false }),
          response: { 200: Type.Object({ n: Type.Integer(), tags: Type.Array(Type.String()), limit: Type.Integer() }) },
        },
      },
      async (request) => {
        const { n } = request.params as { n: number };
        const { tags, limit } = request.query as { tags: string[]; limit: number };
        return { n, tags, limit, secret: 'not in the response schema' };
      },
    );
    await app.ready();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('coerces params and query, applies defaults, checks headers case-insensitively, filters the response', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/test-lazy/3?tags=x',
      headers: { 'x-test-mode': 'a' },
      payload: { name: 'ok' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ n: 3, tags: ['x'], limit: 20 });
  });

  it('rejects invalid bodies, params and headers with the usual errors', async () => {
    const body = await app.inject({
      method: 'POST',
      url: '/api/v1/test-lazy/3?tags=x',
      headers: { 'x-test-mode': 'a' },
      payload: { name: 'o', extra: 1 },
    });
    expect(body.statusCode).toBe(400);
    expect(body.json().code).toBe('validation_error');
    const params = await app.inject({
      method: 'POST',
      url: '/api/v1/test-lazy/0?tags=x',
      headers: { 'x-test-mode': 'a' },
      payload: { name: 'ok' },
    });
    expect(params.statusCode).toBe(400);
    expect(params.json().code).toBe('invalid_param');
    const headers = await app.inject({
      method: 'POST',
      url: '/api/v1/test-lazy/3?tags=x',
      headers: { 'x-test-mode': 'c' },
      payload: { name: 'ok' },
    });
    expect(headers.statusCode).toBe(400);
  });
});
