import { type Server, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SERVICES, detectLocalServices } from './local-services.js';

const listen = async (): Promise<{ server: Server; port: number }> => {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
};

describe('npm test finds PostgreSQL, Redis and NATS on their default ports', () => {
  let open: { server: Server; port: number };
  let closedPort: number;
  beforeAll(async () => {
    open = await listen();
    const closed = await listen();
    closedPort = closed.port;
    await new Promise((r) => closed.server.close(r));
  });
  afterAll(() => new Promise((r) => open.server.close(r)));

  it('the defaults are PostgreSQL 5432, Redis 6379 and NATS 4222 on 127.0.0.1', () => {
    expect(DEFAULT_SERVICES.map((s) => [s.env, s.port])).toEqual([
      ['LOAM_TEST_POSTGRES_URL', 5432],
      ['LOAM_TEST_REDIS_URL', 6379],
      ['LOAM_TEST_NATS_URL', 4222],
    ]);
  });

  it('a listening port sets its variable; a closed one leaves it unset; an explicit variable wins', async () => {
    const env: Record<string, string | undefined> = { LOAM_TEST_C_URL: 'x://explicit' };
    const services = [
      { name: 'A', env: 'LOAM_TEST_A_URL', port: open.port, url: (p: number) => `a://127.0.0.1:${p}` },
      { name: 'B', env: 'LOAM_TEST_B_URL', port: closedPort, url: (p: number) => `b://127.0.0.1:${p}` },
      { name: 'C', env: 'LOAM_TEST_C_URL', port: open.port, url: (p: number) => `c://127.0.0.1:${p}` },
    ];
    const summary = await detectLocalServices(env, services);
    expect(env.LOAM_TEST_A_URL).toBe(`a://127.0.0.1:${open.port}`);
    expect(env.LOAM_TEST_B_URL).toBeUndefined();
    expect(env.LOAM_TEST_C_URL).toBe('x://explicit');
    expect(summary).toBe(
      `test services: A found on 127.0.0.1:${open.port}; B not found (tests needing it are skipped); C from LOAM_TEST_C_URL`,
    );
  });

  it('LOAM_TEST_DETECT=0 turns detection off', async () => {
    const env: Record<string, string | undefined> = { LOAM_TEST_DETECT: '0' };
    await detectLocalServices(env, [{ name: 'A', env: 'LOAM_TEST_A_URL', port: open.port, url: (p: number) => `a://${p}` }]);
    expect(env.LOAM_TEST_A_URL).toBeUndefined();
  });
});
