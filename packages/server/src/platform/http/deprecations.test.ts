import Fastify from 'fastify';
import { expect, it } from 'vitest';
import { deprecationHeaders } from './deprecations.js';

it('deprecated routes announce Deprecation, Sunset and their successor; other routes do not', async () => {
  const app = Fastify();
  app.addHook(
    'onRoute',
    deprecationHeaders([
      {
        method: 'GET',
        url: '/api/v1/old/:id',
        deprecatedAt: '2026-06-01T00:00:00Z',
        sunset: '2027-01-01T00:00:00Z',
        successor: '/api/v1/new',
      },
    ]),
  );
  app.get('/api/v1/old/:id', async () => ({ ok: true }));
  app.post('/api/v1/old/:id', async () => ({ ok: true }));
  app.get('/api/v1/new', async () => ({ ok: true }));
  const old = await app.inject({ method: 'GET', url: '/api/v1/old/1' });
  expect(old.headers.deprecation).toBe(`@${Date.UTC(2026, 5, 1) / 1000}`);
  expect(old.headers.sunset).toBe('Fri, 01 Jan 2027 00:00:00 GMT');
  expect(old.headers.link).toBe('</api/v1/new>; rel="successor-version"');
  expect((await app.inject({ method: 'POST', url: '/api/v1/old/1' })).headers.deprecation).toBeUndefined();
  expect((await app.inject({ method: 'GET', url: '/api/v1/new' })).headers.deprecation).toBeUndefined();
  await app.close();
});
