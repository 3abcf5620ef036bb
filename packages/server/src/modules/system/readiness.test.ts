import { createServer } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describeEachDialect('Redis unreachable: rate limits degrade, /readyz reports every dependency', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { redisUrl: `redis://127.0.0.1:${await closedPort()}` } });
  });
  afterAll(() => t.close());

  it('rate-limited routes still answer (in-process limiter), with a warning metric', async () => {
    const health = await t.app.inject({ method: 'GET', url: '/health' });
    expect(health.statusCode).toBe(200);
    expect(health.headers['x-ratelimit-limit']).toBeDefined();
    const whoami = await t.app.inject({ method: 'GET', url: '/api/v1/whoami', headers: t.admin });
    expect(whoami.statusCode).toBe(200);
    const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/loam_ratelimit_fallback_total \d*[1-9]/);
  });

  it('/readyz names Redis as down: 200 degraded (still serving), every configured dependency listed', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.status).toBe('degraded');
    expect(body.checks.database).toEqual({ ok: true });
    expect(body.checks.migrations).toEqual({ ok: true });
    expect(body.checks.redis).toMatchObject({ ok: false, detail: expect.stringMatching(/in-process/) });
    expect(body.checks.blob_store).toEqual({ ok: true });
  });
});
