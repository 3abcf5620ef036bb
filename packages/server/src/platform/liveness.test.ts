import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type TestLoam, createPostgresDatabase, createTestLoam, describeEachDialect } from '../test/harness.js';
import { processAlive, startTimeOf } from './liveness.js';

const HOLDER = join(import.meta.dirname, '../test/lease-holder.mjs');

/** Starts a Loam process that holds a job and an event delivery; resolves with it and the job's id. */
async function startHolder(dataDir: string, databaseUrl: string): Promise<{ child: ChildProcess; job: string }> {
  const child = spawn(process.execPath, [HOLDER], {
    env: { ...process.env, LEASE_HOLDER_DIR: dataDir, LEASE_HOLDER_DB: databaseUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const job = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`lease holder exited with ${code}`)));
    lines.on('line', (line) => {
      if (line.startsWith('holding ')) resolve(line.slice('holding '.length));
    });
  });
  return { child, job };
}

describeEachDialect('a killed lease holder', (dialect) => {
  let dataDir = '';
  let drop: (() => Promise<void>) | undefined;
  let t: TestLoam | undefined;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await t?.stop();
    await drop?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('has its job and its event delivery taken over long before their 30 s leases expire', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'loam-liveness-'));
    let databaseUrl = '';
    if (dialect === 'postgres') {
      const created = await createPostgresDatabase();
      databaseUrl = created.url;
      drop = created.drop;
    }
    // Migrate first, so the holder and this process do not race to create the schema.
    t = await createTestLoam({ dialect, dataDir, databaseUrl, http: false, config: { jobLeaseMs: 30_000 } });
    const holder = await startHolder(dataDir, databaseUrl);
    child = holder.child;

    const { platform } = t.loam;
    const taken: Array<{ id: string; attempts: number }> = [];
    let redelivered = 0;
    platform.jobs.register('test.hold', async ({ job }) => {
      taken.push({ id: job.id, attempts: job.attempts });
    });
    platform.events.subscribe('test.hold', async (event) => {
      if (event.type === 'io.loam.test.held') redelivered++;
    });
    t.loam.startBackground({ workers: 1, relay: true });
    // Alive: the holder keeps what it holds.
    await new Promise((r) => setTimeout(r, 700));
    expect(taken).toEqual([]);
    expect(redelivered).toBe(0);

    const killedAt = Date.now();
    child.kill('SIGKILL');
    await vi.waitFor(
      () => {
        expect(taken).toEqual([{ id: holder.job, attempts: 2 }]);
        expect(redelivered).toBe(1);
      },
      { timeout: 15_000, interval: 50 },
    );
    // Well within the lease (30 s): the dead holder was detected, not timed out.
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const rows = await platform.database.db.selectFrom('loam_processes').select('id').execute();
    expect(rows.map((r) => r.id)).toEqual([platform.liveness.id]);
  }, 40_000);
});

describe('processAlive', () => {
  it('tells a running process from an exited one, a zombie and a reused pid', async () => {
    expect(processAlive(process.pid, startTimeOf(process.pid) ?? '')).toBe(true);
    // A start time that is not this process's: the pid was reused by another process.
    expect(processAlive(process.pid, '1')).toBe(startTimeOf(process.pid) === undefined);
    const exited = spawnSync(process.execPath, ['-e', '0']);
    expect(processAlive(exited.pid as number, '')).toBe(false);
    // Killed but not yet waited for: a zombie is dead.
    const zombie = spawn('sh', ['-c', 'sleep 30'], { stdio: 'ignore' });
    const started = startTimeOf(zombie.pid as number) ?? '';
    expect(processAlive(zombie.pid as number, started)).toBe(true);
    process.kill(zombie.pid as number, 'SIGKILL');
    await vi.waitFor(() => expect(processAlive(zombie.pid as number, started)).toBe(false));
  });
});
