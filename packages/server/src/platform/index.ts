import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config.js';
import { Access } from './access.js';
import { scopeAuthorizer } from './authz.js';
import { createBlobStore } from './blob/create.js';
import { type Clock, Ids, type Random, Signer, randomToken, systemClock, systemRandom } from './crypto/index.js';
import { type DatabaseHandle, type Executor, type Tx, commitWakesOf, openDatabase } from './db/index.js';
import { EventOutbox } from './events/outbox.js';
import { JobQueue } from './jobs/queue.js';
import { Liveness } from './liveness.js';
import { startTracing } from './tracing.js';
import { VERSION as LOAM_VERSION } from './version.js';
import { FallbackRateLimitStore, MemoryRateLimitStore, RateLimiter, RedisRateLimitStore } from './ratelimit/index.js';

export interface PlatformOptions {
  clock?: Clock;
  random?: Random;
  logger?: Logger;
}

import type { DependencyCheck, Platform } from './module.js';
import type { Redis } from 'ioredis';

export type { Platform } from './module.js';

export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.password',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.secret',
  '*.key',
];

export interface LoggerOptions {
  /** Human-readable lines (pino-pretty) instead of JSON; default: whether stdout is a terminal. */
  pretty?: boolean;
  /** Where lines go; default stdout. */
  destination?: NodeJS.WritableStream;
}

/**
 * JSON lines on stdout, written asynchronously; human-readable (pino-pretty, loaded only then)
 * when stdout is a terminal. `minLength: 1` writes each line as soon as it can (as the default 0
 * does) but makes `log.flush(cb)` wait until the lines are written or stdout is found broken
 * (main.ts flushes before exiting; see `exitAfterLogs`).
 */
export async function createLogger(config: Config, opts: LoggerOptions = {}): Promise<Logger> {
  const options = {
    level: config.logLevel,
    base: { service: 'loam' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: LOG_REDACT, censor: '[redacted]' },
  };
  if (opts.pretty ?? process.stdout.isTTY === true) {
    const { default: pretty } = await import('pino-pretty');
    return pino(options, pretty({ destination: opts.destination ?? 1, colorize: opts.destination === undefined, ignore: 'service' }));
  }
  return pino(options, opts.destination ?? pino.destination({ dest: 1, sync: false, minLength: 1 }));
}

/** Opens the database and builds every platform service (nothing starts running yet). */
export async function createPlatform(config: Config, opts: PlatformOptions = {}): Promise<Platform> {
  const log = opts.logger ?? (await createLogger(config));
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const ids = new Ids(clock, random);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const tracing = await startTracing(LOAM_VERSION);
  const database = openDatabase({
    url: config.databaseUrl,
    sqlitePath: join(dataDir, 'loam.db'),
    poolMax: config.databasePoolMax,
    log: tracing && ((event) => tracing.query(event)),
  });
  const secret = config.secretKey || (await ensureSecret(database, dataDir, random, log));
  const signer = new Signer(Buffer.from(secret));
  const liveness = new Liveness(database, clock, ids, log.child({ component: 'liveness' }));
  const events = new EventOutbox(database, clock, ids, log.child({ component: 'relay' }), {
    pollMs: config.relayPollMs,
    owner: liveness.owner(ids.new('relay')),
    leaseMs: config.relayLeaseMs,
  });
  const jobs = new JobQueue(database, clock, ids, random, log.child({ component: 'jobs' }), {
    pollMs: config.jobPollMs,
    leaseMs: config.jobLeaseMs,
    owner: liveness.owner(ids.new('wrk')),
    tracing,
  });
  liveness.onTakeover(() => {
    jobs.wake();
    events.wake();
  });
  const redis = config.redisUrl
    ? // Loaded only when configured: the embedded default should not pay for a Redis client.
      new (await import('ioredis')).Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true })
    : undefined;
  redis?.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis connection error'));
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const memoryLimits = new MemoryRateLimitStore(() => clock.now());
  const rateLimiter = new RateLimiter(
    redis ? degradingLimits(redis, memoryLimits, metrics, log) : memoryLimits,
    config.rateLimitMultiplier,
  );
  const blob = createBlobStore(config, signer, clock);
  const dependencies: DependencyCheck[] = [
    {
      name: 'blob_store',
      required: true,
      // A key no object has: the store answers "absent" when reachable.
      check: () => withTimeout(blob.head('.loam-readiness-probe'), CHECK_TIMEOUT_MS),
    },
  ];
  if (redis)
    dependencies.push({
      name: 'redis',
      required: false,
      whileDown: "rate limits fall back to each instance's in-process limiter",
      check: async () => {
        if (redis.status !== 'ready') throw new Error(`not connected (${redis.status})`);
        await withTimeout(redis.ping(), CHECK_TIMEOUT_MS);
      },
    });

  const platform: Platform = {
    config,
    log,
    clock,
    random,
    ids,
    database,
    events,
    jobs,
    liveness,
    rateLimiter,
    redis,
    metrics,
    tracing,
    signer,
    blob,
    authenticators: [],
    authorizer: scopeAuthorizer,
    tenantExists: async () => true,
    tenantBlocked: () => undefined,
    checkQuota: async () => undefined,
    access: new Access(() => platform.authorizer, events, database.db),
    dependencies,
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      let committed: Tx | undefined;
      const result = await database.db.transaction().execute((tx) => {
        committed = tx;
        return fn(tx);
      });
      const wakes = committed && commitWakesOf(committed);
      if (wakes?.has('events')) events.wake();
      if (wakes?.has('jobs')) jobs.wake();
      else if (wakes?.has('deliveries')) jobs.wakeLoops();
      return result;
    },
    async close() {
      await rateLimiter.store.close();
      await blob.close();
      await database.close();
      await tracing?.shutdown();
    },
  };
  return platform;
}

const CHECK_TIMEOUT_MS = 2000;

/** `promise`, or a rejection after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Rate limits on Redis that fall back to this process's memory while Redis is unreachable: a
 * warning when that starts, and `loam_ratelimit_fallback_total` counting the requests served so.
 */
function degradingLimits(redis: Redis, memory: MemoryRateLimitStore, metrics: Registry, log: Logger): FallbackRateLimitStore {
  const fallbacks = new Counter({
    name: 'loam_ratelimit_fallback_total',
    help: 'Rate-limited requests counted in process memory because Redis was unreachable',
    registers: [metrics],
  });
  let degraded = false;
  // Until the first connection fails, commands wait in ioredis' offline queue (start-up).
  let lost = false;
  redis.on('ready', () => {
    if (degraded) log.warn('redis is back: rate limits are shared again');
    degraded = false;
    lost = false;
  });
  redis.on('close', () => {
    lost = true;
  });
  return new FallbackRateLimitStore(
    new RedisRateLimitStore(redis),
    memory,
    () => redis.status === 'ready' || (!lost && redis.status !== 'end'),
    (err) => {
      fallbacks.inc();
      if (degraded) return;
      degraded = true;
      log.warn({ err: err ? { message: err.message } : undefined }, "redis unreachable: rate limits fall back to this instance's memory");
    },
  );
}

/**
 * The server secret when LOAM_SECRET_KEY is unset: a key file in the data directory (SQLite),
 * or one row in the database that every PostgreSQL instance shares.
 */
async function ensureSecret(database: DatabaseHandle, dataDir: string, random: Random, log: Logger): Promise<string> {
  return database.dialect.storedSecret(database.db, { dataDir, generate: () => randomToken(random, 64), warn: (msg) => log.warn(msg) });
}

export type { Executor, Tx };
