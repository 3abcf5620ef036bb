import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import loamTransport, { levelOf } from './pino.js';

describe('@loam/sdk/pino', () => {
  let server: Server;
  let baseURL: string;
  const received: {
    headers: Record<string, unknown>;
    body: { records: { level: string; message: string; time: string; attributes?: unknown }[] };
  }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => {
        raw += c;
      });
      req.on('end', () => {
        const body = JSON.parse(raw);
        received.push({ headers: req.headers, body });
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'success', data: { accepted: body.records.length } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('ships pino lines with their level, time and fields, per execution, when the stream ends', async () => {
    const stream = await loamTransport({ baseURL, apiKey: 'loam_sk_test', executionId: 'default-exec' });
    const time = Date.UTC(2026, 11, 7, 10, 0, 0);
    stream.write(`${JSON.stringify({ level: 30, time, pid: 1, hostname: 'h', msg: 'started', step: 1 })}\n`);
    stream.write(`${JSON.stringify({ level: 50, time, msg: 'failed', execution_id: 'run-9' })}\n`);
    await new Promise<void>((r) => stream.end(r));
    await new Promise((r) => stream.once('close', r));
    const byExec = Object.fromEntries(received.map((r) => [r.headers['x-loam-execution-id'], r.body.records]));
    expect(byExec['default-exec']).toEqual([
      { level: 'info', message: 'started', time: '2026-12-07T10:00:00.000Z', attributes: { step: 1 } },
    ]);
    expect(byExec['run-9']).toEqual([{ level: 'error', message: 'failed', time: '2026-12-07T10:00:00.000Z' }]);
    expect(received[0].headers.authorization ?? received[0].headers['x-api-key']).toBeTruthy();
    expect([10, 20, 30, 40, 50, 60].map(levelOf)).toEqual(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
  });
});
