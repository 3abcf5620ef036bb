import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig, startupConfig } from '../config.js';
import { createLogger } from './index.js';

const capture = () => {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (d) => {
    out += d;
  });
  return { stream, text: () => out };
};

describe('logs: human-readable on a terminal, JSON otherwise', () => {
  it('pretty (a terminal): a readable line with level and message, not JSON', async () => {
    const sink = capture();
    const log = await createLogger(loadConfig({}), { pretty: true, destination: sink.stream });
    log.info({ port: 8080 }, 'listening');
    await new Promise((r) => setTimeout(r, 50));
    const line = sink.text();
    expect(line).toMatch(/INFO/);
    expect(line).toMatch(/listening/);
    expect(() => JSON.parse(line.split('\n')[0])).toThrow();
  });

  it('not a terminal: one JSON object per line', async () => {
    const sink = capture();
    const log = await createLogger(loadConfig({}), { pretty: false, destination: sink.stream });
    log.info({ port: 8080 }, 'listening');
    await new Promise((r) => setTimeout(r, 50));
    expect(JSON.parse(sink.text().split('\n')[0])).toMatchObject({ msg: 'listening', port: 8080, level: 30 });
  });

  it('the start-up configuration line shows only values that differ from the defaults (secrets redacted)', () => {
    const config = loadConfig({ LOAM_PORT: '9090', LOAM_DATABASE_URL: 'postgres://u:pw@db/loam', LOAM_LOG_LEVEL: 'info' });
    expect(startupConfig(config)).toEqual({ port: 9090, databaseUrl: 'postgres://u:***@db/loam' });
    expect(startupConfig(loadConfig({}))).toEqual({});
  });
});
