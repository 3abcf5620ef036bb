import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

/**
 * `@loam/sdk/pino` as pino runs it: in pino's worker thread (`pino.transport({ target })`, the
 * built SDK), shipping to a live Loam over HTTP.
 */
const target = createRequire(import.meta.url).resolve('@loam/sdk/pino');

// The transport's side, not the database's: one dialect (ingest itself is tested on both).
describe('observatory: pino transport in its worker thread', () => {
  let t: TestLoam;
  let baseURL: string;
  let apiKey: string;
  const api = apiCaller(() => t);
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseURL = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
    apiKey = (await keyHeaders(t, 'default', { scopes: ['logs:write'] }))['x-api-key'];
  });
  afterAll(() => t.close());

  const messagesOf = async (execution: string) =>
    (await api('GET', `/api/v1/logs?execution_id=${execution}&limit=100`)).json.data.map(
      (r: { level: string; message: string; attributes: Record<string, unknown> }) => [r.level, r.message, r.attributes],
    );

  /**
   * A Node process (the application) logging through `pino.transport()`; `then` is its code after
   * the logging. Not this process: ending a transport blocks its caller's thread until the worker
   * is done, and the Loam it ships to runs on this thread.
   */
  const application = (executionId: string, flushIntervalMs: number, then: string) => {
    const options = JSON.stringify({ baseURL, apiKey, executionId, flushIntervalMs });
    const script = `
      import pino from 'pino';
            const transport = pino.transport({ target: ${JSON.stringify(target)}, options: ${options} });
      const log = pino({ level: 'debug' }, transport);
      log.info({ step: 1 }, 'started');
      log.child({ execution_id: '${executionId}-child' }).error({ code: 'E42' }, 'step failed');
      log.debug('details');
      ${then}
    `;
    return spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: import.meta.dirname, stdio: 'inherit' });
  };
  const exited = (child: ChildProcess) => new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const expected = (executionId: string) => [
    [
      executionId,
      [
        ['info', 'started', { step: 1 }],
        ['debug', 'details', {}],
      ],
    ],
    [`${executionId}-child`, [['error', 'step failed', { code: 'E42' }]]],
  ];

  it('ships lines to Loam from the worker thread while the application runs, per execution', async () => {
    const child = application('pino-live', 50, 'setInterval(() => {}, 1000);');
    try {
      let got: unknown[] = [];
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(50)) {
        got = [
          ['pino-live', await messagesOf('pino-live')],
          ['pino-live-child', await messagesOf('pino-live-child')],
        ];
        if (JSON.stringify(got) === JSON.stringify(expected('pino-live'))) break;
      }
      expect(got).toEqual(expected('pino-live'));
      expect(child.exitCode).toBeNull(); // delivered by the timed flush, not at exit
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
  });

  it('flushes on exit: process.exit() right after logging, or the stream ended, loses no line', async () => {
    // A flush interval far beyond the test: only the exit flush can deliver these records.
    expect(await exited(application('pino-exit', 600_000, 'process.exit(3);'))).toBe(3);
    expect(await exited(application('pino-end', 600_000, 'transport.end();'))).toBe(0);
    for (const execution of ['pino-exit', 'pino-end'])
      for (const [id, lines] of expected(execution)) expect(await messagesOf(id as string)).toEqual(lines);
  });
});
