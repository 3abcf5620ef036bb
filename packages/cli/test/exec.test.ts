/**
 * `loam exec` and `loam logs`: the BUILT binary (run `npm run build` first) against a real Loam.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, eventually } from '../../server/src/test/harness.js';
import { BIN, runLoam } from './run-loam.js';

let t: TestLoam;
let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  t = await createTestLoam({ config: { rateLimitEnabled: false } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  home = mkdtempSync(join(tmpdir(), 'loam-exec-'));
  env = {
    PATH: process.env.PATH ?? '',
    XDG_CONFIG_HOME: join(home, 'config'),
    LOAM_API_BASE_URL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`,
    LOAM_API_KEY: t.adminKey,
  };
});
afterAll(async () => {
  await t.close();
  rmSync(home, { recursive: true, force: true });
});

/** A child that prints `ready`, and on SIGTERM prints `got SIGTERM` and exits 7. */
const CHILD = `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(7); }); console.log('ready'); console.error('to stderr'); setInterval(() => {}, 1000);`;

describe('loam exec', () => {
  it('forwards SIGTERM to its child, exits with the child’s code, and ships the output lines under the execution', async () => {
    const child = spawn(process.execPath, [BIN, 'exec', '--execution-id', 'cli-exec-1', '--', process.execPath, '-e', CHILD], {
      env,
      cwd: home,
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c) => {
        stdout += c;
        if (stdout.includes('ready')) resolve();
      });
      child.once('close', () => reject(new Error(`exited early: ${stderr}`)));
    });
    child.kill('SIGTERM');
    expect(await exited).toBe(7);
    expect(stdout).toContain('got SIGTERM');
    const res = await eventually(async (): Promise<{ message: string; level: string }[] | null> => {
      const r = await t.app.inject({ method: 'GET', url: '/api/v1/logs?execution_id=cli-exec-1', headers: t.admin });
      const data = r.json().data as { message: string; level: string }[];
      return data.length >= 4 ? data : null;
    });
    expect((res ?? []).map((r) => [r.level, r.message])).toEqual(
      expect.arrayContaining([
        ['info', 'ready'],
        ['error', 'to stderr'],
        ['info', 'got SIGTERM'],
        ['error', 'exited with code 7'],
      ]),
    );
  });

  it('exits with the code of a command that fails on its own, and `loam logs` prints its records', async () => {
    const run = await runLoam(
      ['exec', '--execution-id', 'cli-exec-2', '--', process.execPath, '-e', "console.log('hello'); process.exit(3)"],
      { env, cwd: home },
    );
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('hello');
    const logs = await runLoam(['logs', '--execution', 'cli-exec-2', '--json'], { env, cwd: home });
    expect(logs.code).toBe(0);
    const records = logs.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(records.map((r: { message: string }) => r.message)).toEqual(['hello', 'exited with code 3']);
    const errors = await runLoam(['logs', '--execution', 'cli-exec-2', '--level', 'error'], { env, cwd: home });
    expect(errors.stdout.trim().split('\n')).toHaveLength(1);
    expect(errors.stdout).toContain('exited with code 3');
  });
});
