/**
 * `loam tenants`: the BUILT binary (run `npm run build` first) against a real Loam on a socket,
 * as the bootstrap (platform) admin.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { BIN, type Run, runLoam } from './run-loam.js';

let t: TestLoam;
let baseURL: string;
let home: string;

const loam = (args: string[]): Promise<Run> =>
  runLoam(args, {
    env: { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: join(home, 'config'), LOAM_API_BASE_URL: baseURL, LOAM_API_KEY: t.adminKey },
    cwd: home,
  });

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  home = mkdtempSync(join(tmpdir(), 'loam-cli-tenants-'));
  t = await createTestLoam({ config: { rateLimitEnabled: false } });
  t.loam.startBackground({ workers: 1, relay: false });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseURL = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await t?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

it('loam tenants create, ls, show, suspend (and --undo), rm', async () => {
  const created = await loam([
    'tenants',
    'create',
    'cli-acme',
    '--name',
    'CLI Acme',
    '--tier',
    'standard',
    '--quota',
    'datasets=5',
    '--json',
  ]);
  expect(created.stderr).toBe('');
  expect(created.code).toBe(0);
  expect(JSON.parse(created.stdout)).toMatchObject({ id: 'cli-acme', name: 'CLI Acme', tier: 'standard', quotas: { datasets: 5 } });

  const bad = await loam(['tenants', 'create', 'Bad_Id']);
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/id/);

  const ls = await loam(['tenants', 'ls']);
  expect(ls.code).toBe(0);
  expect(ls.stdout).toMatch(/cli-acme\s+CLI Acme\s+standard\s+active/);

  const show = await loam(['tenants', 'show', 'cli-acme']);
  expect(show.code).toBe(0);
  expect(show.stdout).toMatch(/quotas\s+\{"datasets":5\}/);

  expect((await loam(['tenants', 'suspend', 'cli-acme'])).stdout).toContain('cli-acme: suspended');
  expect((await t.loam.services.tenants.get('cli-acme'))?.status).toBe('suspended');
  expect((await loam(['tenants', 'suspend', 'cli-acme', '--undo'])).stdout).toContain('cli-acme: active');

  const refused = await loam(['tenants', 'rm', 'cli-acme']);
  expect(refused.code).not.toBe(0);
  const rm = await loam(['tenants', 'rm', 'cli-acme', '--yes', '--json']);
  expect(rm.code).toBe(0);
  expect(JSON.parse(rm.stdout)).toMatchObject({ tenant_id: 'cli-acme', status: 'erasing' });
  await t.loam.platform.jobs.drain();
  expect(await t.loam.services.tenants.get('cli-acme')).toBeUndefined();
  expect((await loam(['tenants', 'show', 'cli-acme'])).code).not.toBe(0);
});
