import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Every option: its env var, its default, whether it is a secret (redacted in logs).
 * The README's configuration table is written from this list.
 */
interface Option {
  env: string;
  schema: TSchema;
  doc: string;
  secret?: boolean;
}

const bool = (d: boolean) => Type.Boolean({ default: d });
const int = (d: number, min = 0, max = Number.MAX_SAFE_INTEGER) => Type.Integer({ default: d, minimum: min, maximum: max });
const str = (d: string) => Type.String({ default: d });

export const options = {
  host: { env: 'LOAM_HOST', schema: str('127.0.0.1'), doc: 'Address the HTTP server listens on' },
  port: { env: 'LOAM_PORT', schema: int(8080, 0, 65535), doc: 'HTTP port (0 = any free port)' },
  publicUrl: {
    env: 'LOAM_PUBLIC_URL',
    schema: str(''),
    doc: 'Base URL clients reach Loam at, used in pre-signed URLs (default http://HOST:PORT)',
  },
  dataDir: { env: 'LOAM_DATA_DIR', schema: str('./data'), doc: 'Directory for SQLite, blobs and key files' },
  databaseUrl: {
    env: 'LOAM_DATABASE_URL',
    schema: str(''),
    doc: 'postgres://… to use PostgreSQL; empty = SQLite in the data directory',
    secret: true,
  },
  databasePoolMax: { env: 'LOAM_DATABASE_POOL_MAX', schema: int(10, 1, 1000), doc: 'PostgreSQL pool size' },
  migrate: { env: 'LOAM_MIGRATE', schema: bool(true), doc: '`loam serve` applies pending migrations on start' },
  logLevel: {
    env: 'LOAM_LOG_LEVEL',
    schema: Type.Union(
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
      { default: 'info' },
    ),
    doc: 'fatal, error, warn, info, debug, trace or silent',
  },
  redisUrl: {
    env: 'LOAM_REDIS_URL',
    schema: str(''),
    doc: 'redis://… to share rate limits (and later caches) between instances',
    secret: true,
  },
  natsUrl: { env: 'LOAM_NATS_URL', schema: str(''), doc: 'nats://… to publish events to NATS JetStream', secret: true },
  secretKey: {
    env: 'LOAM_SECRET_KEY',
    schema: str(''),
    doc: 'Server secret (≥ 32 chars) for signatures and cursors; generated into the data directory when empty',
    secret: true,
  },
  adminApiKey: {
    env: 'LOAM_ADMIN_API_KEY',
    schema: str(''),
    doc: 'On first start, use this value as the admin API key instead of generating and printing one',
    secret: true,
  },
  corsOrigins: {
    env: 'LOAM_CORS_ORIGINS',
    schema: str(''),
    doc: 'Comma-separated allowed CORS origins, `*` for any; empty disables CORS',
  },
  bodyLimit: { env: 'LOAM_BODY_LIMIT', schema: int(16 * 1024 * 1024, 1024), doc: 'Largest request body in bytes' },
  trustProxy: { env: 'LOAM_TRUST_PROXY', schema: bool(false), doc: 'Trust X-Forwarded-* headers (behind a proxy)' },
  atriumnPrefix: {
    env: 'LOAM_ATRIUMN_PREFIX',
    schema: Type.String({ default: '', pattern: '^(/[A-Za-z0-9._~-]+)*$' }),
    doc: 'Extra path prefix under which the Atriumn routes are also served, e.g. /atriumn',
  },
  rateLimitEnabled: { env: 'LOAM_RATE_LIMIT_ENABLED', schema: bool(true), doc: 'Enforce per-route rate limits' },
  rateLimitMultiplier: {
    env: 'LOAM_RATE_LIMIT_MULTIPLIER',
    schema: Type.Number({ default: 1, exclusiveMinimum: 0 }),
    doc: 'Multiplies every rate limit (tests and benchmarks raise it)',
  },
  jobConcurrency: { env: 'LOAM_JOB_CONCURRENCY', schema: int(4, 0, 256), doc: 'Jobs run at once per process (0 = no workers)' },
  jobPollMs: { env: 'LOAM_JOB_POLL_MS', schema: int(500, 10), doc: 'How often idle workers look for due jobs' },
  jobLeaseMs: { env: 'LOAM_JOB_LEASE_MS', schema: int(30_000, 100), doc: 'A job whose worker is silent this long is retried' },
  relayPollMs: { env: 'LOAM_RELAY_POLL_MS', schema: int(250, 10), doc: 'How often the event relay looks for new events' },
  shutdownTimeoutMs: {
    env: 'LOAM_SHUTDOWN_TIMEOUT_MS',
    schema: int(10_000, 0),
    doc: 'Deadline for graceful shutdown on SIGTERM',
  },
} satisfies Record<string, Option>;

type Options = typeof options;
export type Config = { [K in keyof Options]: Static<Options[K]['schema']> };

export class ConfigError extends Error {}

const ConfigSchema = Type.Object(
  Object.fromEntries(Object.entries(options).map(([k, o]) => [k, o.schema])) as {
    [K in keyof Options]: Options[K]['schema'];
  },
  { additionalProperties: false },
);

/** Reads an env string into the option's type; validation happens afterwards on the whole. */
function fromEnv(raw: string, schema: TSchema): unknown {
  const type = (schema as { type?: string }).type;
  if (type === 'integer' || type === 'number') return raw.trim() === '' ? raw : Number(raw);
  if (type === 'boolean') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    return raw;
  }
  return raw;
}

/**
 * Builds the configuration: defaults < file (`LOAM_CONFIG`) < environment < overrides.
 * Fails with a ConfigError naming the option and its env var.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  let file: Record<string, unknown> = {};
  if (env.LOAM_CONFIG) {
    try {
      file = JSON.parse(readFileSync(resolve(env.LOAM_CONFIG), 'utf8'));
    } catch (err) {
      throw new ConfigError(`LOAM_CONFIG: cannot read ${env.LOAM_CONFIG}: ${(err as Error).message}`);
    }
    if (typeof file !== 'object' || file === null || Array.isArray(file))
      throw new ConfigError(`LOAM_CONFIG: ${env.LOAM_CONFIG} must hold a JSON object`);
  }
  const merged: Record<string, unknown> = { ...file };
  for (const [key, opt] of Object.entries(options) as [keyof Options, Option][]) {
    const raw = env[opt.env];
    if (raw !== undefined) merged[key] = fromEnv(raw, opt.schema);
  }
  Object.assign(merged, overrides);
  const withDefaults = Value.Default(ConfigSchema, merged);
  const first = Value.Errors(ConfigSchema, withDefaults).First();
  if (first) {
    const key = first.path.split('/')[1] ?? '';
    const opt = (options as Record<string, Option>)[key];
    const where = opt ? `${key} (${opt.env})` : `${key || 'config'} (unknown option)`;
    throw new ConfigError(`invalid configuration: ${where}: ${first.message}`);
  }
  const config = withDefaults as Config;
  if (config.secretKey && config.secretKey.length < 32)
    throw new ConfigError('invalid configuration: secretKey (LOAM_SECRET_KEY): must be at least 32 characters');
  return config;
}

/** The effective configuration with every secret replaced, for the start-up log. */
export function redactConfig(config: Config): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => {
      const opt = (options as Record<string, Option>)[k];
      if (opt?.secret && v) {
        if (typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return [k, redactUrl(v)];
        return [k, '[redacted]'];
      }
      return [k, v];
    }),
  );
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[redacted]';
  }
}
