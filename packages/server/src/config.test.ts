import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, options, redactConfig } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'loam-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(content: unknown): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('has defaults that work on a laptop', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: './data',
      databaseUrl: '',
      migrate: true,
      logLevel: 'info',
      redisUrl: '',
      rateLimitEnabled: true,
      rateLimitMultiplier: 1,
      jobConcurrency: 4,
      shutdownTimeoutMs: 10_000,
      atriumnPrefix: '',
    });
  });

  it('every option has a LOAM_* env var, a default and a doc line; env vars are unique', () => {
    const envs = new Set<string>();
    for (const [key, opt] of Object.entries(options)) {
      expect(opt.env, key).toMatch(/^LOAM_[A-Z0-9_]+$/);
      expect(opt.doc.length, key).toBeGreaterThan(5);
      expect((opt.schema as { default?: unknown }).default, key).not.toBeUndefined();
      expect(envs.has(opt.env), `${opt.env} used twice`).toBe(false);
      envs.add(opt.env);
    }
    // Every default passes its own validation.
    expect(() => loadConfig({})).not.toThrow();
  });

  it('parses environment variables into their types', () => {
    const c = loadConfig({
      LOAM_PORT: '9090',
      LOAM_MIGRATE: 'false',
      LOAM_RATE_LIMIT_ENABLED: 'off',
      LOAM_TRUST_PROXY: 'YES',
      LOAM_RATE_LIMIT_MULTIPLIER: '2.5',
      LOAM_LOG_LEVEL: 'debug',
      LOAM_DATA_DIR: '/var/lib/loam',
      LOAM_ATRIUMN_PREFIX: '/atriumn/v1',
    });
    expect(c.port).toBe(9090);
    expect(c.migrate).toBe(false);
    expect(c.rateLimitEnabled).toBe(false);
    expect(c.trustProxy).toBe(true);
    expect(c.rateLimitMultiplier).toBe(2.5);
    expect(c.logLevel).toBe('debug');
    expect(c.dataDir).toBe('/var/lib/loam');
    expect(c.atriumnPrefix).toBe('/atriumn/v1');
    expect(loadConfig({ LOAM_MIGRATE: '1' }).migrate).toBe(true);
  });

  it('precedence: defaults < file (LOAM_CONFIG) < environment < overrides', () => {
    const file = configFile({ port: 7000, host: '0.0.0.0', logLevel: 'warn', jobConcurrency: 2 });
    const fromFile = loadConfig({ LOAM_CONFIG: file });
    expect(fromFile).toMatchObject({ port: 7000, host: '0.0.0.0', logLevel: 'warn', jobConcurrency: 2 });
    const envWins = loadConfig({ LOAM_CONFIG: file, LOAM_PORT: '7001', LOAM_LOG_LEVEL: 'error' });
    expect(envWins).toMatchObject({ port: 7001, host: '0.0.0.0', logLevel: 'error', jobConcurrency: 2 });
    const overridesWin = loadConfig({ LOAM_CONFIG: file, LOAM_PORT: '7001' }, { port: 7002 });
    expect(overridesWin.port).toBe(7002);
  });

  it('an invalid env value fails with the option and its env var named', () => {
    expect(configError(() => loadConfig({ LOAM_PORT: 'abc' })).message).toMatch(/port \(LOAM_PORT\)/);
    expect(configError(() => loadConfig({ LOAM_PORT: '70000' })).message).toMatch(/port \(LOAM_PORT\)/);
    expect(configError(() => loadConfig({ LOAM_PORT: '' })).message).toMatch(/LOAM_PORT/);
    expect(configError(() => loadConfig({ LOAM_MIGRATE: 'maybe' })).message).toMatch(/migrate \(LOAM_MIGRATE\)/);
    expect(configError(() => loadConfig({ LOAM_LOG_LEVEL: 'loud' })).message).toMatch(/logLevel \(LOAM_LOG_LEVEL\)/);
    expect(configError(() => loadConfig({ LOAM_RATE_LIMIT_MULTIPLIER: '0' })).message).toMatch(/LOAM_RATE_LIMIT_MULTIPLIER/);
    expect(configError(() => loadConfig({ LOAM_JOB_CONCURRENCY: '1.5' })).message).toMatch(/LOAM_JOB_CONCURRENCY/);
    expect(configError(() => loadConfig({ LOAM_ATRIUMN_PREFIX: 'no-slash' })).message).toMatch(/LOAM_ATRIUMN_PREFIX/);
    expect(configError(() => loadConfig({ LOAM_SECRET_KEY: 'short' })).message).toMatch(/LOAM_SECRET_KEY.*32/);
  });

  it('a bad config file fails clearly', () => {
    expect(configError(() => loadConfig({ LOAM_CONFIG: join(dir, 'missing.json') })).message).toMatch(/LOAM_CONFIG: cannot read/);
    expect(configError(() => loadConfig({ LOAM_CONFIG: configFile('{not json') })).message).toMatch(/LOAM_CONFIG/);
    expect(configError(() => loadConfig({ LOAM_CONFIG: configFile([1, 2]) })).message).toMatch(/must hold a JSON object/);
    expect(configError(() => loadConfig({ LOAM_CONFIG: configFile({ prot: 1 }) })).message).toMatch(/prot \(unknown option\)/);
    expect(configError(() => loadConfig({ LOAM_CONFIG: configFile({ port: '80' }) })).message).toMatch(/port \(LOAM_PORT\)/);
  });

  it('redacts secrets for the start-up log', () => {
    const c = loadConfig({
      LOAM_DATABASE_URL: 'postgres://loam:hunter2@db.internal:5432/loam?sslmode=require&password=p2',
      LOAM_REDIS_URL: 'redis://:redispw@cache:6379/0',
      LOAM_NATS_URL: 'nats://natstoken@bus:4222',
      LOAM_SECRET_KEY: 's'.repeat(40),
      LOAM_ADMIN_API_KEY: 'loam_sk_operator_chosen_admin_key',
    });
    const r = redactConfig(c);
    const text = JSON.stringify(r);
    for (const secret of ['hunter2', 'p2', 'redispw', 'natstoken', 'sssssss', 'operator_chosen']) expect(text).not.toContain(secret);
    expect(r.databaseUrl).toBe('postgres://loam:***@db.internal:5432/loam?sslmode=require&password=***');
    expect(r.redisUrl).toBe('redis://:***@cache:6379/0');
    expect(r.natsUrl).toBe('nats://***@bus:4222');
    expect(r.secretKey).toBe('[redacted]');
    expect(r.adminApiKey).toBe('[redacted]');
    // Non-secrets stay readable; unset secrets stay empty (so the log shows they are unset).
    expect(r.port).toBe(8080);
    expect(r.host).toBe('127.0.0.1');
    expect(redactConfig(loadConfig({})).secretKey).toBe('');
  });
});
