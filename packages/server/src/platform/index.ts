import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config.js';
import { Access } from './access.js';
import { scopeAuthorizer } from './authz.js';
import { createBlobStore } from './blob/create.js';
import { type Clock, Ids, type Random, Signer, randomToken, systemClock, systemRandom } from './crypto/index.js';
import { type DatabaseHandle, type Executor, type Tx, openDatabase } from './db/index.js';
import { EventOutbox } from './events/outbox.js';
import { JobQueue } from './jobs/queue.js';
import { MemoryRateLimitStore, RateLimiter, RedisRateLimitStore } from './ratelimit/index.js';

export interface PlatformOptions {
  clock?: Clock;
  random?: Random;
  logger?: Logger;
}

import type { Platform } from './module.js';

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

/**
 * JSON lines on stdout, written asynchronously. `minLength: 1` writes each line as soon as it can
 * (as the default 0 does) but makes `log.flush(cb)` wait until the lines are written or stdout is
 * found broken (main.ts flushes before exiting; see `exitAfterLogs`).
 */
export function createLogger(config: Config): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'loam' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: LOG_REDACT, censor: '[redacted]' },
    },
    pino.destination({ dest: 1, sync: false, minLength: 1 }),
  );
}

/** Opens the database and builds every platform service (nothing starts running yet). */
export async function createPlatform(config: Config, opts: PlatformOptions = {}): Promise<Platform> {
  const log = opts.logger ?? createLogger(config);
  const clock = opts.clock ?? systemClock;
  const random = opts.random ?? systemRandom;
  const ids = new Ids(clock, random);
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const database = openDatabase({
    url: config.databaseUrl,
    sqlitePath: join(dataDir, 'loam.db'),
    poolMax: config.databasePoolMax,
  });
  const secret = config.secretKey || (await ensureSecret(database, dataDir, random, log));
  const signer = new Signer(Buffer.from(secret));
  const events = new EventOutbox(database, clock, ids, log.child({ component: 'relay' }), {
    pollMs: config.relayPollMs,
  });
  const jobs = new JobQueue(database, clock, ids, random, log.child({ component: 'jobs' }), {
    pollMs: config.jobPollMs,
    leaseMs: config.jobLeaseMs,
  });
  const redis = config.redisUrl
    ? // Loaded only when configured: the embedded default should not pay for a Redis client.
      new (await import('ioredis')).Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true })
    : undefined;
  redis?.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis connection error'));
  const rateLimiter = new RateLimiter(
    redis ? new RedisRateLimitStore(redis) : new MemoryRateLimitStore(() => clock.now()),
    config.rateLimitMultiplier,
  );
  const blob = createBlobStore(config, signer, clock);
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });

  const platform: Platform = {
    config,
    log,
    clock,
    random,
    ids,
    database,
    events,
    jobs,
    rateLimiter,
    redis,
    metrics,
    signer,
    blob,
    authenticators: [],
    authorizer: scopeAuthorizer,
    tenantExists: async () => true,
    access: new Access(() => platform.authorizer, events, database.db),
    async transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      const result = await database.db.transaction().execute(fn);
      events.wake();
      jobs.wake();
      return result;
    },
    async close() {
      await rateLimiter.store.close();
      await blob.close();
      await database.close();
    },
  };
  return platform;
}

/**
 * The server secret when LOAM_SECRET_KEY is unset: a key file in the data directory (SQLite),
 * or one row in the database that every PostgreSQL instance shares.
 */
async function ensureSecret(database: DatabaseHandle, dataDir: string, random: Random, log: Logger): Promise<string> {
  return database.dialect.storedSecret(database.db, { dataDir, generate: () => randomToken(random, 64), warn: (msg) => log.warn(msg) });
}

export type { Executor, Tx };
