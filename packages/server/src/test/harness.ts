/**
 * Test harness: a real Loam (real Fastify app, real database, temp data directory) on SQLite
 * and, when LOAM_TEST_POSTGRES_URL is set, on a fresh PostgreSQL database per instance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { describe } from 'vitest';
import { createLoam, type Loam } from '../app.js';
import { type Config, loadConfig } from '../config.js';
import type { Clock, Random } from '../platform/crypto/index.js';
import type { Database } from '../platform/db/schema.js';
import type { DialectName } from '../platform/db/index.js';
import type { LoamApp } from '../platform/http/server.js';

export const POSTGRES_URL = process.env.LOAM_TEST_POSTGRES_URL ?? '';
export const REDIS_URL = process.env.LOAM_TEST_REDIS_URL ?? '';
export const NATS_URL = process.env.LOAM_TEST_NATS_URL ?? '';

export const TEST_ADMIN_KEY = 'loam_sk_test_admin_key_0123456789abcdefghijklmnop';

/**
 * Runs `fn` once per dialect. The PostgreSQL run is skipped visibly (the suite name says why)
 * when LOAM_TEST_POSTGRES_URL is unset.
 */
export function describeEachDialect(name: string, fn: (dialect: DialectName) => void): void {
  describe(`${name} [sqlite]`, () => fn('sqlite'));
  if (POSTGRES_URL) describe(`${name} [postgres]`, () => fn('postgres'));
  else describe.skip(`${name} [postgres] — skipped: no PostgreSQL (set LOAM_TEST_POSTGRES_URL)`, () => fn('postgres'));
}

/** `describe` that runs only when `url` is set, and otherwise shows as skipped with the reason. */
export function describeWith(url: string, what: string, name: string, fn: () => void): void {
  if (url) describe(name, fn);
  else describe.skip(`${name} — skipped: no ${what}`, fn);
}

/** Creates an empty PostgreSQL database; returns its URL and a function that drops it. */
export async function createPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `loam_t_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

export interface TestLoamOptions {
  dialect?: DialectName;
  config?: Partial<Config>;
  clock?: Clock;
  random?: Random;
  /** Reuse an existing data directory / database (to simulate a restart). */
  dataDir?: string;
  databaseUrl?: string;
  /** Build the HTTP app (default true). */
  http?: boolean;
}

export interface TestLoam {
  loam: Loam;
  app: LoamApp;
  dataDir: string;
  databaseUrl: string;
  adminKey: string;
  /** Headers that authenticate as the bootstrap admin. */
  admin: { 'x-api-key': string };
  /** Closes Loam; keeps the database and data directory (for restart tests). */
  stop(): Promise<void>;
  /** Closes Loam and deletes its data directory and PostgreSQL database. */
  close(): Promise<void>;
}

/**
 * A migrated, bootstrapped Loam with its HTTP app built (not listening: use `app.inject`,
 * or `app.listen({port: 0})` for a real socket). Background workers are not started.
 */
export async function createTestLoam(opts: TestLoamOptions = {}): Promise<TestLoam> {
  const dialect = opts.dialect ?? 'sqlite';
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'loam-test-'));
  let databaseUrl = opts.databaseUrl ?? '';
  let drop: (() => Promise<void>) | undefined;
  if (dialect === 'postgres' && !databaseUrl) {
    if (!POSTGRES_URL) throw new Error('LOAM_TEST_POSTGRES_URL is not set');
    const created = await createPostgresDatabase();
    databaseUrl = created.url;
    drop = created.drop;
  }
  const config = loadConfig(
    {},
    {
      dataDir,
      databaseUrl,
      logLevel: 'silent',
      adminApiKey: TEST_ADMIN_KEY,
      jobPollMs: 20,
      relayPollMs: 20,
      ...opts.config,
    },
  );
  const loam = await createLoam(config, { clock: opts.clock, random: opts.random });
  await loam.migrate();
  await loam.bootstrap();
  const app = opts.http === false ? (undefined as unknown as LoamApp) : await loam.http();
  if (app) await app.ready();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await loam.close(1000);
  };
  return {
    loam,
    app,
    dataDir,
    databaseUrl,
    adminKey: TEST_ADMIN_KEY,
    admin: { 'x-api-key': TEST_ADMIN_KEY },
    stop,
    async close() {
      await stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      await drop?.();
    },
  };
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(public ms = Date.UTC(2026, 10, 23, 12, 0, 0)) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Waits until `check` returns a truthy value (polling), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T> | T, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

// biome-ignore lint/suspicious/noExplicitAny: test responses are inspected freely
type AnyJson = any;

/**
 * An HTTP caller for tests: JSON bodies (strings and Buffers are sent as given), the admin key
 * unless `headers` override it, and the answer's status, headers, parsed JSON (if any) and body.
 */
export function apiCaller(test: () => TestLoam) {
  return async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
    const t = test();
    const isText = typeof body === 'string' || Buffer.isBuffer(body);
    const r = await t.app.inject({
      method: method as 'GET',
      url,
      headers: { ...t.admin, ...(body !== undefined && !isText ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { payload: isText ? (body as string) : JSON.stringify(body) } : {}),
    });
    let json: AnyJson;
    try {
      json = r.body ? JSON.parse(r.body) : undefined;
    } catch {
      json = undefined;
    }
    return { status: r.statusCode, headers: r.headers, json, body: r.body };
  };
}

/** A database handle for tables that exist only in a test (declared nowhere in `Database`). */
// biome-ignore lint/suspicious/noExplicitAny: test-only tables are untyped by design
export const untyped = (db: Kysely<Database>): Kysely<any> => db as unknown as Kysely<any>;
