import compress from '@fastify/compress';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyContextConfig,
  type FastifySchema,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Platform } from '../index.js';
import { type Principal, requireScopes } from '../principal.js';
import type { BucketSpec } from '../ratelimit/index.js';
import { isApiV1 } from './context.js';
import { AppError, unauthorized } from './errors.js';
import { sendError, toAppError } from './errors-render.js';
import { lazyCompilersFactory } from './lazy-compilers.js';
import { RequestLogger, requestLoggerFactory } from './request-logger.js';

/** What a route requires of its caller. Absent = public. */
export type AuthRequirement = { scopes: readonly string[] } | 'optional';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRequirement;
    /** The route's token bucket; `false` disables limiting. /api/v1 routes default to the tenant's tier. */
    rateLimit?: BucketSpec | false;
  }
  interface FastifyRequest {
    principal?: Principal;
    startedAt?: bigint;
  }
  interface FastifyInstance {
    /** Every route registered so far (all methods, all plugins), e.g. for route-walking tests. */
    registeredRoutes(): readonly RegisteredRoute[];
  }
}

export interface RegisteredRoute {
  method: string;
  url: string;
  config: FastifyContextConfig;
  schema?: FastifySchema;
}

export type LoamApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** Per-tenant tiers for /api/v1 (contracts/api-v1.md): a per-minute bucket and a daily cap. */
export const TIERS: Record<string, { perMinute: BucketSpec; daily?: BucketSpec }> = {
  free: { perMinute: { limit: 60, windowSec: 60, burst: 10 }, daily: { limit: 10_000, windowSec: 86_400 } },
  professional: { perMinute: { limit: 600, windowSec: 60, burst: 50 }, daily: { limit: 100_000, windowSec: 86_400 } },
  enterprise: { perMinute: { limit: 6000, windowSec: 60, burst: 200 } },
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const BEARER = /^bearer\s+/i;
const METHODS: HTTPMethod[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export interface HttpDeps {
  platform: Platform;
  /** The tier of a tenant, for /api/v1 rate limits. */
  tierOf(tenantId: string): Promise<string>;
}

/**
 * The Fastify instance with Loam's cross-cutting behaviour: request ids, authentication,
 * rate limits, error rendering per route family, 404/405, metrics, CORS and compression.
 */
export async function createHttpServer({ platform, tierOf }: HttpDeps): Promise<LoamApp> {
  const { config } = platform;
  const app = Fastify({
    loggerInstance: platform.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    childLoggerFactory: requestLoggerFactory, // request.log builds its pino child only when it writes
    requestIdHeader: false, // genReqId validates the client's X-Request-ID itself
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : platform.ids.new('req');
    },
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, useDefaults: true, allErrors: false } },
    // Fastify's compilers with the options above, compiling each route's schemas on first use.
    schemaController: { compilersFactory: lazyCompilersFactory },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Every (method, path) known, so an unknown method on a known path answers 405, not 404.
  const known = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 500 });
  const registered: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', () => registered);
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]) as HTTPMethod[];
    for (const m of methods) {
      if (METHODS.includes(m) && !known.find(m, route.url)) known.on(m, route.url, () => {});
      registered.push({ method: m, url: route.url, config: (route.config ?? {}) as FastifyContextConfig, schema: route.schema });
    }
  });

  const httpRequests = new Counter({
    name: 'loam_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [platform.metrics],
  });
  const httpDuration = new Histogram({
    name: 'loam_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [platform.metrics],
  });
  const inFlight = new Gauge({ name: 'loam_http_requests_in_flight', help: 'Requests being handled', registers: [platform.metrics] });

  // Callback-style hooks: a request that needs no authentication and no rate limit goes through
  // without allocating a promise. `request.routeOptions` builds a new object on every access, so
  // it is read once per hook.
  const rateLimited = config.rateLimitEnabled;
  app.addHook('onRequest', (request, reply, done) => {
    request.startedAt = process.hrtime.bigint();
    inFlight.inc();
    reply.header('x-request-id', request.id);
    const route = request.routeOptions;
    const auth = route.config.auth;
    if (!auth && !rateLimited) return done();
    (async () => {
      if (auth) await authenticate(platform, request, auth);
      if (rateLimited) await rateLimit(platform, request, reply, tierOf, route);
    })().then(() => done(), done);
  });

  app.addHook('onResponse', (request, reply, done) => {
    inFlight.dec();
    const labels = { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    httpRequests.inc(labels);
    const seconds = request.startedAt ? Number(process.hrtime.bigint() - request.startedAt) / 1e9 : 0;
    httpDuration.observe(labels, seconds);
    // The access log line is built only when info is enabled (LOAM_LOG_LEVEL=warn skips the work).
    const log = request.log;
    if (infoEnabled(log)) {
      const fields = {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(seconds * 1e4) / 10,
      };
      if (log instanceof RequestLogger) log.infoLine(fields, 'request');
      else log.info(fields, 'request');
    }
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const { appError, unexpected } = toAppError(error);
    if (unexpected) request.log.error({ err: error }, 'unexpected error');
    return sendError(request, reply, appError);
  });

  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0];
    // OPTIONS is left out: with CORS on, a catch-all preflight route "knows" every path.
    const allowed = METHODS.filter((m) => m !== request.method && m !== 'OPTIONS' && known.find(m, path));
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(request, reply, new AppError('method_not_allowed', 405, `${request.method} is not allowed on ${path}`));
    }
    return sendError(request, reply, new AppError('not_found', 404, `No route for ${request.method} ${path}`));
  });

  const origins = config.corsOrigins
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      exposedHeaders: [
        'x-request-id',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
        'retry-after',
        'etag',
        'location',
      ],
    });
  }
  await app.register(compress, { threshold: 1024, encodings: ['br', 'gzip', 'deflate'] });
  return app;
}

/** Whether `log` writes info lines (pino loggers say; any other logger is asked to log). */
function infoEnabled(log: FastifyBaseLogger): boolean {
  const isLevelEnabled = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return isLevelEnabled === undefined || isLevelEnabled.call(log, 'info');
}

async function authenticate(platform: Platform, request: FastifyRequest, requirement: AuthRequirement): Promise<void> {
  const token = credentialOf(request);
  if (!token) {
    if (requirement === 'optional') return;
    throw unauthorized();
  }
  for (const authenticator of platform.authenticators) {
    const principal = await authenticator(token, request);
    if (principal) {
      request.principal = principal;
      break;
    }
  }
  if (!request.principal)
    throw new AppError('invalid_token', 401, 'The credential is invalid, expired or revoked', undefined, {
      'www-authenticate': 'Bearer error="invalid_token"',
    });
  if (requirement !== 'optional') requireScopes(request.principal, requirement.scopes);
}

/** `X-API-Key: <key>` or `Authorization: Bearer <token>`. */
export function credentialOf(request: FastifyRequest): string | undefined {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey) return apiKey.trim();
  const auth = request.headers.authorization;
  const scheme = auth ? BEARER.exec(auth) : null;
  if (auth && scheme) return auth.slice(scheme[0].length).trim() || undefined;
  return undefined;
}

async function rateLimit(
  platform: Platform,
  request: FastifyRequest,
  reply: FastifyReply,
  tierOf: (tenant: string) => Promise<string>,
  route: FastifyRequest['routeOptions'] = request.routeOptions,
): Promise<void> {
  if (!platform.config.rateLimitEnabled) return;
  const cfg = route.config.rateLimit;
  if (cfg === false) return;
  const principal = request.principal;
  const who = principal ? `t:${principal.tenantId}:${principal.subject}` : `ip:${request.ip}`;
  const buckets: { key: string; spec: BucketSpec; window: number }[] = [];
  if (cfg) {
    buckets.push({ key: `${request.method} ${route.url}|${who}`, spec: cfg, window: cfg.windowSec });
  } else if (principal && isApiV1(request.url)) {
    const tier = TIERS[await tierOf(principal.tenantId)] ?? TIERS.free;
    buckets.push({ key: `tier:${principal.tenantId}`, spec: tier.perMinute, window: 60 });
    if (tier.daily) buckets.push({ key: `daily:${principal.tenantId}`, spec: tier.daily, window: 86_400 });
  }
  for (const b of buckets) {
    const r = await platform.rateLimiter.take(b.key, b.spec);
    // The first bucket is the one clients pace themselves by; a later one shows only when it denies.
    if (b === buckets[0] || !r.allowed) {
      reply.header('x-ratelimit-limit', r.limit);
      reply.header('x-ratelimit-remaining', r.remaining);
      reply.header('x-ratelimit-reset', Math.ceil(r.resetMs / 1000));
      reply.header('x-ratelimit-window', `${b.window}s`);
    }
    if (!r.allowed) {
      const retryAfter = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      throw new AppError(
        'rate_limited',
        429,
        `Rate limit exceeded: ${r.limit} requests per ${b.window} s; retry in ${retryAfter} s`,
        undefined,
        { 'retry-after': String(retryAfter) },
        { retry_after: retryAfter },
      );
    }
  }
}
