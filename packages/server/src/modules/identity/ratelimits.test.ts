import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../test/harness.js';
import { bearer, confirmedUser, credential, login } from './testing.js';

/**
 * Contract §7 at the real production limits: the request after the limit answers 429
 * rate_limited with Retry-After, and every answer carries the X-RateLimit headers.
 */
describe('identity: rate limits (Atriumn §7)', () => {
  let t: TestLoam;
  let userToken: string;
  let credId: string;
  let clientId: string;
  let clientSecret: string;
  beforeAll(async () => {
    // Setup runs with raised limits on another instance of the buckets: a second Loam on the same data.
    const setup = await createTestLoam({ config: { rateLimitMultiplier: 1000, atriumnPrefix: '/atriumn' } });
    await confirmedUser(setup, 'limits@example.com');
    userToken = (await login(setup, 'limits@example.com')).access_token;
    const c = await credential(setup, ['storage']);
    credId = c.id;
    clientId = c.client_id;
    clientSecret = c.client_secret;
    await setup.stop();
    t = await createTestLoam({ dataDir: setup.dataDir, config: { atriumnPrefix: '/atriumn' } });
  });
  afterAll(() => t.close());

  const cases: {
    route: string;
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
    url: string;
    limit: number;
    window: number;
    auth?: 'user' | 'admin';
    payload?: unknown;
  }[] = [
    { route: 'POST /auth/token', method: 'POST', url: '/auth/token', limit: 10, window: 60, payload: {} },
    { route: 'POST /auth/signup', method: 'POST', url: '/auth/signup', limit: 5, window: 60, payload: {} },
    { route: 'POST /auth/signup/confirm', method: 'POST', url: '/auth/signup/confirm', limit: 5, window: 60, payload: {} },
    { route: 'POST /auth/signup/resend', method: 'POST', url: '/auth/signup/resend', limit: 3, window: 300, payload: {} },
    { route: 'POST /auth/login', method: 'POST', url: '/auth/login', limit: 10, window: 60, payload: {} },
    { route: 'POST /auth/logout', method: 'POST', url: '/auth/logout', limit: 10, window: 60, payload: {} },
    { route: 'POST /auth/password/reset', method: 'POST', url: '/auth/password/reset', limit: 3, window: 600, payload: {} },
    { route: 'POST /auth/password/confirm', method: 'POST', url: '/auth/password/confirm', limit: 3, window: 600, payload: {} },
    { route: 'GET /auth/me', method: 'GET', url: '/auth/me', limit: 20, window: 60, auth: 'user' },
    { route: 'POST /admin/credentials', method: 'POST', url: '/admin/credentials', limit: 5, window: 60, auth: 'admin', payload: {} },
    { route: 'GET /admin/credentials', method: 'GET', url: '/admin/credentials', limit: 10, window: 60, auth: 'admin' },
    { route: 'GET /admin/credentials/{id}', method: 'GET', url: '/admin/credentials/cred_x', limit: 20, window: 60, auth: 'admin' },
    {
      route: 'PATCH /admin/credentials/{id}',
      method: 'PATCH',
      url: '/admin/credentials/cred_x',
      limit: 5,
      window: 60,
      auth: 'admin',
      payload: {},
    },
    { route: 'DELETE /admin/credentials/{id}', method: 'DELETE', url: '/admin/credentials/cred_x', limit: 5, window: 60, auth: 'admin' },
  ];

  for (const c of cases) {
    it(`${c.route}: ${c.limit} per ${c.window} s`, async () => {
      const headers = c.auth === 'user' ? bearer(userToken) : c.auth === 'admin' ? t.admin : {};
      const send = () =>
        t.app.inject({ method: c.method, url: c.url, headers, ...(c.payload ? { payload: c.payload } : {}), remoteAddress: '10.1.2.3' });
      for (let i = 0; i < c.limit; i++) {
        const res = await send();
        expect(res.statusCode, `request ${i + 1}: ${res.body}`).not.toBe(429);
        expect(res.headers['x-ratelimit-limit']).toBe(String(c.limit));
        expect(res.headers['x-ratelimit-remaining']).toBe(String(c.limit - i - 1));
        expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThan(0);
      }
      const limited = await send();
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ error: 'rate_limited', error_description: expect.any(String) });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(c.window / c.limit));
      // On a 429 the reset is when the next request is allowed: the same instant as Retry-After.
      expect(limited.headers['x-ratelimit-reset']).toBe(limited.headers['retry-after']);
    });
  }

  it('requests that fail authentication are limited per address too, with the headers', async () => {
    const send = () => t.app.inject({ method: 'GET', url: '/auth/me', headers: bearer('garbage.token.here'), remoteAddress: '10.7.7.7' });
    for (let i = 0; i < 20; i++) {
      const res = await send();
      expect(res.statusCode).toBe(401);
      expect(res.headers['x-ratelimit-limit']).toBe('20');
      expect(res.headers['x-ratelimit-remaining']).toBe(String(20 - i - 1));
    }
    const limited = await send();
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    // Failed attempts on /api/v1 count against the caller's address as well.
    const v1 = () =>
      t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: { 'x-api-key': 'loam_sk_wrong' }, remoteAddress: '10.7.7.8' });
    const first = await v1();
    expect(first.statusCode).toBe(401);
    expect(first.headers['x-ratelimit-limit']).toBeDefined();
    let last = first;
    for (let i = 0; i < 200 && last.statusCode === 401; i++) last = await v1();
    expect(last.statusCode).toBe(429);
  });

  it('limits are per client address for anonymous routes: another address still gets through', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/auth/token', payload: {}, remoteAddress: '10.9.9.9' });
    expect(res.statusCode).toBe(400);
  });

  it('the routes are also served under LOAM_ATRIUMN_PREFIX, with their own buckets', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/atriumn/auth/token',
      payload: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
      remoteAddress: '10.1.2.3',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBe('10');
    const cred = await t.app.inject({ method: 'GET', url: `/atriumn/admin/credentials/${credId}`, headers: t.admin });
    expect(cred.statusCode).toBe(200);
  });
});
