import { randomInt } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, ManualClock, REDIS_URL, createTestLoam, describeWith } from '../../test/harness.js';
import { MemoryRateLimitStore } from './index.js';

const randomIp = () => `10.${randomInt(256)}.${randomInt(256)}.${randomInt(1, 255)}`;

/** A key in a tenant of the given tier, allowed to call /api/v1/api-keys. */
async function keyInTenant(t: TestLoam, tenant: string, tier: string): Promise<string> {
  await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, tenant, tenant, tier));
  const key = await t.loam.services.apiKeys.create(tenant, { name: 'rl', scopes: ['auth:admin'] });
  return key.key;
}

describe('rate limits (memory store)', () => {
  let t: TestLoam;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    t = await createTestLoam({ clock });
  });
  afterAll(() => t.close());

  it('GET /health allows 60 per minute per IP, then 429 in the Atriumn format', async () => {
    const ip = randomIp();
    for (let i = 0; i < 60; i++) {
      const ok = await t.app.inject({ method: 'GET', url: '/health', remoteAddress: ip });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('60');
      expect(ok.headers['x-ratelimit-remaining']).toBe(String(59 - i));
    }
    const denied = await t.app.inject({ method: 'GET', url: '/health', remoteAddress: ip });
    expect(denied.statusCode).toBe(429);
    expect(denied.headers['retry-after']).toBe('1');
    expect(denied.headers['x-ratelimit-limit']).toBe('60');
    expect(denied.headers['x-ratelimit-remaining']).toBe('0');
    // Denied: the reset is when the next request is allowed, as Retry-After says.
    expect(denied.headers['x-ratelimit-reset']).toBe('1');
    expect(denied.headers['content-type']).toMatch(/^application\/json/);
    expect(denied.json()).toEqual({
      error: 'rate_limited',
      error_description: expect.stringContaining('Rate limit exceeded'),
      request_id: expect.any(String),
      retry_after: 1,
    });

    // Another client has its own bucket.
    expect((await t.app.inject({ method: 'GET', url: '/health', remoteAddress: randomIp() })).statusCode).toBe(200);

    // The bucket refills at 1 per second: one more request after a second, not two.
    clock.advance(1000);
    expect((await t.app.inject({ method: 'GET', url: '/health', remoteAddress: ip })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health', remoteAddress: ip })).statusCode).toBe(429);
    clock.advance(60_000);
    const full = await t.app.inject({ method: 'GET', url: '/health', remoteAddress: ip });
    expect(full.statusCode).toBe(200);
    expect(full.headers['x-ratelimit-remaining']).toBe('59');
  });

  it('/api/v1 routes use the tenant tier (free: burst 10) and answer 429 as problem+json with retry_after', async () => {
    const key = await keyInTenant(t, 'tenant-free', 'free');
    const headers = { 'x-api-key': key };
    for (let i = 0; i < 10; i++) {
      const ok = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['x-ratelimit-limit']).toBe('60');
      expect(ok.headers['x-ratelimit-window']).toBe('60s');
    }
    const denied = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers });
    expect(denied.statusCode).toBe(429);
    expect(denied.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(denied.headers['retry-after']).toBe('1');
    expect(denied.json()).toMatchObject({
      type: 'https://loam.dev/errors/rate-limited',
      status: 429,
      code: 'rate_limited',
      retry_after: 1,
      instance: '/api/v1/api-keys',
      request_id: expect.any(String),
    });
    // The admin of another (enterprise) tenant is not affected.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers: t.admin })).statusCode).toBe(200);
    // 60 per minute: one request per second comes back.
    clock.advance(1000);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers })).statusCode).toBe(429);
  });

  it('routes that opt out are never limited', async () => {
    const ip = randomIp();
    for (let i = 0; i < 80; i++) {
      const r = await t.app.inject({ method: 'GET', url: '/healthz', remoteAddress: ip });
      expect(r.statusCode).toBe(200);
      expect(r.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });
});

describe('rate limits: daily cap and switches', () => {
  it('the free tier has a daily cap that holds after the per-minute bucket refills', async () => {
    const clock = new ManualClock();
    // Scaled down 100×: 1 per minute (burst 1), 100 per day.
    const t = await createTestLoam({ clock, config: { rateLimitMultiplier: 0.01 } });
    try {
      const headers = { 'x-api-key': await keyInTenant(t, 'tenant-daily', 'free') };
      let allowed = 0;
      let last = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers });
      while (last.statusCode === 200 && allowed < 200) {
        allowed++;
        clock.advance(60_000);
        last = await t.app.inject({ method: 'GET', url: '/api/v1/api-keys', headers });
      }
      // 100 at once plus the daily refill over the minutes spent (1 per 864 s).
      expect(allowed).toBeGreaterThanOrEqual(100);
      expect(allowed).toBeLessThan(110);
      expect(last.statusCode).toBe(429);
      expect(last.headers['x-ratelimit-window']).toBe('86400s');
      expect(last.headers['x-ratelimit-limit']).toBe('100');
      expect(Number(last.headers['retry-after'])).toBeGreaterThan(60);
    } finally {
      await t.close();
    }
  });

  it('LOAM_RATE_LIMIT_ENABLED=false turns limiting off', async () => {
    const t = await createTestLoam({ config: { rateLimitEnabled: false } });
    try {
      for (let i = 0; i < 70; i++) {
        const r = await t.app.inject({ method: 'GET', url: '/health' });
        expect(r.statusCode).toBe(200);
        expect(r.headers['x-ratelimit-limit']).toBeUndefined();
      }
    } finally {
      await t.close();
    }
  });

  it('the memory store forgets idle full buckets', async () => {
    let now = 0;
    const store = new MemoryRateLimitStore(() => now);
    try {
      expect((await store.take('k', 2, 1 / 1000)).remaining).toBe(1);
      expect((await store.take('k', 2, 1 / 1000)).remaining).toBe(0);
      expect((await store.take('k', 2, 1 / 1000)).allowed).toBe(false);
      now = 2000;
      (store as unknown as { sweep(): void }).sweep();
      expect((store as unknown as { buckets: Map<string, unknown> }).buckets.size).toBe(0);
      expect((await store.take('k', 2, 1 / 1000)).remaining).toBe(1);
    } finally {
      await store.close();
    }
  });
});

describeWith(REDIS_URL, 'Redis (set LOAM_TEST_REDIS_URL)', 'rate limits (Redis store)', () => {
  let a: TestLoam;
  let b: TestLoam;
  let redis: Redis;
  const ip = randomIp();
  beforeAll(async () => {
    // Scaled down 10×: /health allows 6 per minute, so a token takes 10 s to come back and the
    // test cannot race the refill.
    const config = { redisUrl: REDIS_URL, rateLimitMultiplier: 0.1 };
    a = await createTestLoam({ config });
    b = await createTestLoam({ config });
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await redis?.del(`loam:rl:GET /health|ip:${ip}`);
    redis?.disconnect();
    await a?.close();
    await b?.close();
  });

  it('uses Redis', () => {
    expect(a.loam.platform.rateLimiter.store.kind).toBe('redis');
  });

  it('two Loam instances share one budget', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) {
      const app = i % 2 === 0 ? a.app : b.app;
      const r = await app.inject({ method: 'GET', url: '/health', remoteAddress: ip });
      codes.push(r.statusCode);
      expect(r.headers['x-ratelimit-limit']).toBe('6');
      expect(r.headers['x-ratelimit-remaining']).toBe(String(5 - i));
    }
    expect(codes).toEqual([200, 200, 200, 200, 200, 200]);
    const fromA = await a.app.inject({ method: 'GET', url: '/health', remoteAddress: ip });
    const fromB = await b.app.inject({ method: 'GET', url: '/health', remoteAddress: ip });
    expect(fromA.statusCode).toBe(429);
    expect(fromB.statusCode).toBe(429);
    expect(Number(fromB.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(fromB.headers['retry-after'])).toBeLessThanOrEqual(10);
    expect(fromB.json().error).toBe('rate_limited');
    // The bucket lives in Redis, with an expiry so idle keys go away.
    expect(await redis.pttl(`loam:rl:GET /health|ip:${ip}`)).toBeGreaterThan(0);
  });
});
