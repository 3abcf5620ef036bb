import { describe, expect, it } from 'vitest';
import { exec } from './exec.js';

describe('exec', () => {
  it('captures stdout, stderr and the exit code, with cwd and env', async () => {
    const r = await exec(
      process.execPath,
      ['-e', "console.log(process.cwd(), process.env.LOAM_X); console.error('oops'); process.exit(4)"],
      {
        cwd: '/',
        env: { LOAM_X: 'set' },
      },
    );
    expect(r).toMatchObject({ exitCode: 4, stdout: '/ set', stderr: 'oops', timedOut: false });
  });

  it('kills the child at the timeout and when the AbortSignal aborts, reporting the signal', async () => {
    const slow = ['-e', 'setTimeout(() => {}, 60_000)'];
    const timed = await exec(process.execPath, slow, { timeout: 200 });
    expect(timed).toMatchObject({ timedOut: true, signal: 'SIGTERM', exitCode: 143 });
    const controller = new AbortController();
    const running = exec(process.execPath, slow, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await running).exitCode).toBeGreaterThan(0);
  });
});
