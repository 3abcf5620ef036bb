import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { createLoam, type Loam } from '../../app.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOG_REDACT } from '../index.js';
import { RequestLogger } from './request-logger.js';

function capture(level = 'info') {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).trim().split('\n'));
      cb();
    },
  });
  const log = pino({ level, base: { service: 'loam' }, timestamp: false, redact: { paths: LOG_REDACT, censor: '[redacted]' } }, stream);
  return { log, lines };
}

describe('request logger', () => {
  it('writes exactly the lines a pino child with the request bindings writes', () => {
    const eager = capture();
    const lazy = capture();
    const bindings = { request_id: 'req_1' };
    const child = eager.log.child(bindings);
    const logger = new RequestLogger(lazy.log, bindings);
    child.info({ method: 'GET', path: '/x', status: 200, ms: 1.2 }, 'request');
    logger.infoLine({ method: 'GET', path: '/x', status: 200, ms: 1.2 }, 'request');
    child.warn({ err: { message: 'boom' }, password: 'p' }, 'careful');
    logger.warn({ err: { message: 'boom' }, password: 'p' }, 'careful');
    child.info({ method: 'GET', path: '/y', status: 404, ms: 0.4 }, 'request');
    logger.infoLine({ method: 'GET', path: '/y', status: 404, ms: 0.4 }, 'request');
    expect(lazy.lines).toEqual(eager.lines);
    expect(JSON.parse(lazy.lines[0])).toMatchObject({ service: 'loam', request_id: 'req_1', path: '/x', msg: 'request' });
  });

  it('writes nothing, and builds no child, below the level', () => {
    const { log, lines } = capture('warn');
    const logger = new RequestLogger(log, { request_id: 'req_2' });
    logger.info('hidden');
    logger.infoLine({ a: 1 }, 'hidden');
    logger.debug('hidden');
    expect(lines).toEqual([]);
    expect(logger.isLevelEnabled('info')).toBe(false);
    logger.error('shown');
    expect(JSON.parse(lines[0])).toMatchObject({ request_id: 'req_2', msg: 'shown', level: 50 });
  });
});

describe('access log through the HTTP app', () => {
  let loam: Loam;
  const dataDir = mkdtempSync(join(tmpdir(), 'loam-reqlog-'));
  const { log, lines } = capture();
  beforeAll(async () => {
    loam = await createLoam(loadConfig({}, { dataDir, logLevel: 'info', adminApiKey: 'loam_sk_test_reqlog_0123456789abcdefghijkl' }), {
      logger: log,
    });
    await loam.migrate();
    await loam.bootstrap();
    await (await loam.http()).ready();
  });
  afterAll(async () => {
    await loam.close(1000);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('logs one line per request with its request id, method, path and status', async () => {
    const app = await loam.http();
    lines.length = 0;
    await app.inject({ method: 'GET', url: '/healthz?probe=1', headers: { 'x-request-id': 'req_from_client' } });
    const access = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'request');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({ request_id: 'req_from_client', method: 'GET', path: '/healthz', status: 200, service: 'loam' });
  });
});
