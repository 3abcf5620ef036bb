import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, TEST_ADMIN_KEY, type TestLoam, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { receiver } from './testing.js';

/** The built server (`npm run build`): a tsx import of the app takes ~16 s. */
const CHILD = fileURLToPath(new URL('../../test/loam-child.mjs', import.meta.url));

/** Starts a Loam process on the test's database; resolves once it prints `ready`. */
async function child(t: TestLoam): Promise<{ proc: ChildProcess; lines: string[]; send(line: string): void }> {
  const proc = spawn(process.execPath, [CHILD], {
    env: {
      ...process.env,
      LOAM_DATA_DIR: t.dataDir,
      LOAM_DATABASE_URL: t.databaseUrl,
      LOAM_ADMIN_API_KEY: TEST_ADMIN_KEY,
      LOAM_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      LOAM_JOB_LEASE_MS: '1000',
      LOAM_RELAY_LEASE_MS: '1000',
      LOAM_JOB_POLL_MS: '20',
      LOAM_RELAY_POLL_MS: '20',
    },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  proc.stdout?.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  await eventually(() => lines.includes('ready'), 30_000);
  return { proc, lines, send: (line) => proc.stdin?.write(`${line}\n`) };
}

const ids = (got: { body: string }[]) => got.map((g) => JSON.parse(g.body).id as string);

describeEachDialect('webhook delivery survives kill -9', (dialect) => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('a killed process loses no delivery: after a restart every event reaches the receiver at least once', async () => {
    // The receiver is slow, so deliveries are in flight when the process dies.
    const rx = await receiver(() => new Promise((r) => setTimeout(() => r(200), 150)));
    cleanup.push(rx.close);
    const t = await createTestLoam({ dialect, config: { webhookAllowPrivateTargets: true } });
    cleanup.push(t.close);
    await t.loam.services.webhooks.create(
      {
        tenantId: 'default',
        principal: { tenantId: 'default', subject: 'k', kind: 'api_key', roles: ['admin'], scopes: [] },
        requestId: 'r',
        ip: '127.0.0.1',
      },
      { url: `${rx.url}/crash`, events: ['prompt.created'], concurrency: 3 },
    );
    await t.loam.platform.events.deliverPending(); // the subscriber's cursor starts here
    await t.stop();
    const first = await child(t);
    first.send('emit 30');
    await eventually(() => first.lines.includes('emitted'), 20_000);
    await eventually(() => rx.got.length >= 3, 20_000);
    first.proc.kill('SIGKILL');
    await new Promise((r) => first.proc.once('exit', r));
    const before = new Set(ids(rx.got)).size;
    expect(before).toBeLessThan(30);
    const second = await child(t);
    cleanup.push(async () => second.proc.kill('SIGKILL'));
    await eventually(() => new Set(ids(rx.got)).size === 30, 30_000);
    expect(new Set(ids(rx.got)).size).toBe(30);
  }, 90_000);
});

(POSTGRES_URL ? describe : describe.skip)('two Loam processes on one PostgreSQL database', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => {});
  });

  it('deliver each event exactly once between them, never more at once than the endpoint’s concurrency', async () => {
    // The receiver counts the requests it is answering: two processes with a per-process limit would reach 6.
    let open = 0;
    let most = 0;
    const rx = await receiver(async () => {
      most = Math.max(most, ++open);
      await new Promise((r) => setTimeout(r, 5));
      open--;
      return 200;
    });
    cleanup.push(rx.close);
    const t = await createTestLoam({ dialect: 'postgres', config: { webhookAllowPrivateTargets: true } });
    cleanup.push(t.close);
    await t.loam.services.webhooks.create(
      {
        tenantId: 'default',
        principal: { tenantId: 'default', subject: 'k', kind: 'api_key', roles: ['admin'], scopes: [] },
        requestId: 'r',
        ip: '127.0.0.1',
      },
      { url: `${rx.url}/two`, events: ['prompt.created'], concurrency: 3 },
    );
    await t.loam.platform.events.deliverPending();
    const a = await child(t);
    const b = await child(t);
    cleanup.push(
      async () => a.proc.kill('SIGKILL'),
      async () => b.proc.kill('SIGKILL'),
    );
    a.send('emit 50');
    b.send('emit 50');
    await eventually(() => a.lines.includes('emitted') && b.lines.includes('emitted'), 20_000);
    await eventually(() => rx.got.length >= 100, 60_000);
    await new Promise((r) => setTimeout(r, 500)); // a duplicate would arrive by now
    expect(rx.got).toHaveLength(100);
    expect(new Set(ids(rx.got)).size).toBe(100);
    expect(most).toBeLessThanOrEqual(3);
  }, 90_000);
});
