import { eventOrigin, validTraceparent } from '../events/origin.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import compress from '@fastify/compress';
import cors from '@fastify/cors';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyContextConfig,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { Gauge } from 'prom-client';
import type { Random } from '../crypto/index.js';
import type { Platform } from '../index.js';
import { PLATFORM_ADMIN, type Principal, requireScopes } from '../principal.js';
import type { BucketSpec } from '../ratelimit/index.js';
import { isApiV1 } from './context.js';
import { AppError, unauthorized } from '../errors.js';
import { MAX_PARAM_LENGTH, frameworkError, sendError, toAppError } from './errors-render.js';
import { AJV_OPTIONS, lazyCompilersFactory } from './lazy-compilers.js';
import { RequestLogger, requestLoggerFactory } from './request-logger.js';
import { HttpMetrics } from './metrics.js';
import { addRouteHook } from './route-hooks.js';
import type { AuthRequirement, LoamApp, RegisteredRoute } from './app.js';
import { endRequestSpan, traceIdOf } from '../tracing.js';

export type { AuthRequirement, LoamApp, RegisteredRoute } from './app.js';

/** Per-tenant tiers for /api/v1 (contracts/api-v1.md): a per-minute bucket and a daily cap. */
export const TIERS: Record<string, { perMinute: BucketSpec; daily?: BucketSpec }> = {
  free: { perMinute: { limit: 60, windowSec: 60, burst: 10 }, daily: { limit: 10_000, windowSec: 86_400 } },
  professional: { perMinute: { limit: 600, windowSec: 60, burst: 50 }, daily: { limit: 100_000, windowSec: 86_400 } },
  // The tenants API names the middle tier `standard`; it is the contract's `professional`.
  standard: { perMinute: { limit: 600, windowSec: 60, burst: 50 }, daily: { limit: 100_000, windowSec: 86_400 } },
  enterprise: { perMinute: { limit: 6000, windowSec: 60, burst: 200 } },
};

/**
 * Headers of every response (helmet's defaults that matter for a JSON API): nothing is
 * MIME-sniffed, framed or given a referrer, and no response may run script (uploads served from
 * this origin included). `/docs` replaces the CSP with one that allows its page.
 */
const SECURITY_HEADERS = [
  'x-content-type-options',
  'nosniff',
  'referrer-policy',
  'no-referrer',
  'x-frame-options',
  'DENY',
  'content-security-policy',
  "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'cross-origin-opener-policy',
  'same-origin',
];

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
  const requestId = requestIds(platform.random);
  const app = Fastify({
    loggerInstance: platform.log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    childLoggerFactory: requestLoggerFactory, // request.log builds its pino child only when it writes
    requestIdHeader: false, // genReqId validates the client's X-Request-ID itself
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : requestId();
    },
    bodyLimit: config.bodyLimit,
    // Node answers 408 to a request whose headers are not complete in time (bodies: watchBody);
    // it checks at this interval (its default, 30 s, would let a short timeout overrun by as much).
    requestTimeout: config.requestTimeoutMs,
    http: { connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(config.requestTimeoutMs / 4))) },
    trustProxy: config.trustProxy,
    // A request that arrives once closing began gets 503 in Loam's format (below), not Fastify's.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id);
      return sendError(request, reply, frameworkError(error));
    },
    ajv: AJV_OPTIONS,
    // Fastify's compilers with the options above, compiling each route's schemas on first use.
    schemaController: { compilersFactory: lazyCompilersFactory },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Every (method, path) known, so an unknown method on a known path answers 405, not 404.
  const known = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH });
  const registered: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', () => registered);
  const metrics = new HttpMetrics(platform.metrics);
  const inFlight = new Gauge({ name: 'loam_http_requests_in_flight', help: 'Requests being handled', registers: [platform.metrics] });

  // Callback-style hooks: they allocate no promise.
  const { bodyTimeoutMs: bodyTimeout, requestTimeoutMs: requestTimeout } = config;
  const tracing = platform.tracing;
  const closing = closingState(app);
  app.addHook('onRequest', (request, reply, done) => {
    request.startedAt = performance.now();
    inFlight.inc();
    reply.header('x-request-id', request.id);
    for (let i = 0; i < SECURITY_HEADERS.length; i += 2) reply.header(SECURITY_HEADERS[i], SECURITY_HEADERS[i + 1]);
    // Requests in flight finish; a new one (on a kept-alive connection) is told to go elsewhere.
    if (closing.now) return done(SHUTTING_DOWN());
    if (!request.raw.complete && hasBody(request.raw)) watchBody(app.server, request.raw, reply.raw, bodyTimeout, requestTimeout);
    runInRequestContext(request, tracing, done);
  });

  /** Metrics and the access log line of a finished request (`record`: its route's recorder). */
  const finished = (request: FastifyRequest, reply: FastifyReply, record: (status: number, seconds: number) => void) => {
    inFlight.dec();
    const seconds = request.startedAt ? (performance.now() - request.startedAt) / 1e3 : 0;
    record(reply.statusCode, seconds);
    if (request.span) endRequestSpan(request.span, reply.statusCode, request.routeOptions.url);
    // The access log line is built only when info is enabled (LOAM_LOG_LEVEL=warn skips the work).
    const log = request.log;
    if (infoEnabled(log)) {
      const fields = {
        method: request.method,
        path: request.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(seconds * 1e4) / 10,
        trace_id: traceIdOf(request.headers.traceparent, request.span),
      };
      if (log instanceof RequestLogger) log.infoLine(fields, 'request');
      else log.info(fields, 'request');
    }
  };
  const rateLimited = config.rateLimitEnabled;
  app.addHook('onRoute', (route) => {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]) as HTTPMethod[];
    const routeConfig = (route.config ?? {}) as FastifyContextConfig;
    for (const m of methods) {
      if (METHODS.includes(m) && !known.find(m, route.url)) known.on(m, route.url, () => {});
      registered.push({ method: m, url: route.url, config: routeConfig, schema: route.schema });
    }
    // Per-route hooks know their route and what it requires here, once: a request pays for
    // no route lookups, and for authentication and rate limiting only where they apply.
    const recorders = new Map(methods.map((m) => [m as string, metrics.route(m, route.url)]));
    const [first] = recorders.values();
    addRouteHook(route, 'onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      finished(request, reply, recorders.get(request.method) ?? first);
      done();
    });
    const auth = routeConfig.auth;
    // A route is limited by its own bucket, or under /api/v1 by the caller's tenant tier.
    const limit = rateLimited && routeConfig.rateLimit !== false && (routeConfig.rateLimit !== undefined || isApiV1(route.url));
    if (auth || limit) addRouteHook(route, 'onRequest', guard(platform, tierOf, route.url, auth, limit ? routeConfig.rateLimit : false));
  });

  const unmatched = new Map<string, (status: number, seconds: number) => void>();
  app.addHook('onResponse', (request, reply, done) => {
    // Matched routes finish in their own hook (added in onRoute), which knows their route.
    if (request.is404) {
      let record = unmatched.get(request.method);
      if (!record) {
        record = metrics.route(request.method, 'unmatched');
        unmatched.set(request.method, record);
      }
      finished(request, reply, record);
    }
    done();
  });

  app.addHook('preHandler', (request, _reply, done) => {
    // A suspended (or erased) tenant's credentials act on nothing; answered from memory.
    const blocked = request.principal && platform.tenantBlocked(request.principal.tenantId);
    if (blocked) return done(tenantBlockedError(blocked));
    const named = requestedTenant(request);
    if (named === undefined) return done();
    checkNamedTenant(platform, named).then(() => done(), done);
  });
  app.decorate('checkNamedTenant', async (request: FastifyRequest, tenantId: string | undefined) => {
    const principal = request.principal;
    if (tenantId && principal?.roles.includes(PLATFORM_ADMIN) && tenantId !== principal.tenantId)
      await checkNamedTenant(platform, tenantId);
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

  await registerCors(app, config.corsOrigins);
  // Responses up to 256 KiB are compressed in one synchronous call (a few ms at most) rather than
  // through a zlib stream each, whose setup and thread-pool round trips cost more than the
  // compression itself (the plugin's default cut-off on a 2-core host is 8 KiB).
  await app.register(compress, { threshold: 1024, syncThreshold: 256 * 1024, encodings: ['br', 'gzip', 'deflate'] });
  return app;
}

/** CORS for the configured origins (none: no CORS headers), allowing what the APIs use. */
async function registerCors(app: LoamApp, corsOrigins: string): Promise<void> {
  const origins = corsOrigins
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      allowedHeaders: [
        'authorization',
        'content-type',
        'accept',
        'x-api-key',
        'x-request-id',
        'idempotency-key',
        'if-match',
        'if-none-match',
        'last-event-id',
        'traceparent',
        'tracestate',
      ],
      maxAge: 600,
      exposedHeaders: [
        'x-request-id',
        'x-ratelimit-limit',
        'x-ratelimit-remaining',
        'x-ratelimit-reset',
        'x-ratelimit-window',
        'retry-after',
        'etag',
        'location',
      ],
    });
  }
}

/** What a tenant id may look like: no path separators, control or bidirectional characters. */
const TENANT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The tenant a platform admin's request names in its body or query (`tenantId` / `tenant_id`)
 * when it is not the admin's own; undefined otherwise (others get 403 from the route itself).
 */
function requestedTenant(request: FastifyRequest): string | undefined {
  const principal = request.principal;
  if (!principal || !principal.roles.includes(PLATFORM_ADMIN)) return undefined;
  const pick = (o: unknown): unknown => {
    if (!o || typeof o !== 'object' || Array.isArray(o)) return undefined;
    const r = o as Record<string, unknown>;
    return r.tenantId ?? r.tenant_id;
  };
  const named = pick(request.body) ?? pick(request.query);
  return typeof named === 'string' && named !== '' && named !== principal.tenantId ? named : undefined;
}

/** A named tenant must be well-formed (400) and exist (404): no route creates one implicitly. */
async function checkNamedTenant(platform: Platform, tenantId: string): Promise<void> {
  if (!TENANT_ID.test(tenantId))
    throw new AppError('invalid_tenant_id', 400, 'tenantId is not a valid tenant id', [
      { field: 'tenantId', code: 'invalid_format', message: 'tenantId must be letters, digits, ".", "_" or "-" (at most 64)' },
    ]);
  if (!(await platform.tenantExists(tenantId))) throw new AppError('tenant_not_found', 404, 'No such tenant');
  const blocked = platform.tenantBlocked(tenantId);
  if (blocked) throw tenantBlockedError(blocked);
}

/** 403 `tenant_suspended` for a suspended tenant, 401 for the credentials of an erased one. */
function tenantBlockedError(why: 'suspended' | 'gone'): AppError {
  return why === 'suspended'
    ? new AppError('tenant_suspended', 403, 'The tenant is suspended')
    : new AppError('invalid_token', 401, 'The credential belongs to a tenant that no longer exists');
}

/** Whether a request announces a body (a length above 0, or chunks). */
function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return (length !== undefined && length !== '0') || raw.headers['transfer-encoding'] !== undefined;
}

/**
 * Answers 408 and closes the connection when the body of `raw` pauses longer than `idleMs` or
 * is not complete `totalMs` after the request began (a client that announced more than it
 * sends). Closing the connection fails the handler's read of the body, which removes what it
 * had stored so far (an upload's temp file).
 */
function watchBody(server: Server, raw: IncomingMessage, res: ServerResponse, idleMs: number, totalMs: number): void {
  const socket = raw.socket;
  if (!(socket instanceof Socket)) return; // app.inject's requests have no connection
  const timeout = () => {
    if (raw.complete || socket.destroyed) return;
    const err = Object.assign(new Error('The request body did not arrive in time'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    server.emit('clientError', err, socket); // Fastify's handler: 408, then the socket is destroyed
  };
  const deadline = setTimeout(timeout, totalMs);
  const stop = () => {
    clearTimeout(deadline);
    socket.setTimeout(0);
  };
  // The socket's idle timer runs only while the body arrives. `timeout` reaches the request only
  // while its body is incomplete; the response's listener keeps Node from closing a connection
  // whose body arrived but is not read yet.
  socket.setTimeout(idleMs);
  raw.on('timeout', timeout);
  res.on('timeout', stop);
  raw.once('end', stop);
  res.once('close', stop);
}

const SHUTTING_DOWN = () =>
  new AppError('service_unavailable', 503, 'The server is shutting down; retry the request', undefined, {
    'retry-after': '1',
    connection: 'close',
  });

/** `now` turns true when `app` begins closing. */
function closingState(app: FastifyInstance): { now: boolean } {
  const state = { now: false };
  app.addHook('preClose', (done) => {
    state.now = true;
    done();
  });
  return state;
}

/** Whether `log` writes info lines (pino loggers say; any other logger is asked to log). */
function infoEnabled(log: FastifyBaseLogger): boolean {
  const isLevelEnabled = (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return isLevelEnabled === undefined || isLevelEnabled.call(log, 'info');
}

/** Failed authentications on /api/v1 per client address: the free tier's per-minute bucket. */
const FAILED_AUTH_KEY = 'failed-auth';
const FAILED_AUTH_BUCKET: BucketSpec = TIERS.free.perMinute;

/**
 * The onRequest hook of a route that requires authentication and/or is rate limited. It stays
 * synchronous (no promise) when every step answers synchronously: a cached bearer token on a
 * route without a limit is resolved and checked in place.
 */
function guard(
  platform: Platform,
  tierOf: (tenant: string) => Promise<string>,
  url: string,
  auth: AuthRequirement | undefined,
  limit: BucketSpec | false | undefined,
) {
  // A request whose credential is refused still spends from a bucket, keyed by its address: the
  // route's own one, or under /api/v1 (whose buckets belong to tenants) one for failed attempts.
  const refused = (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void, err: Error) => {
    if (limit === false || !(err instanceof AppError && err.status === 401)) return done(err);
    const [bucketUrl, spec] = limit ? [url, limit] : [FAILED_AUTH_KEY, FAILED_AUTH_BUCKET];
    rateLimit(platform, request, reply, tierOf, bucketUrl, spec).then(() => done(err), done);
  };
  return (request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void): void => {
    let pending: Promise<void> | undefined;
    try {
      if (auth) pending = authenticate(platform, request, auth);
    } catch (err) {
      refused(request, reply, done, err as Error);
      return;
    }
    if (limit === false) {
      if (pending)
        pending.then(
          () => done(),
          (err) => refused(request, reply, done, err),
        );
      else done();
      return;
    }
    (pending ?? Promise.resolve()).then(
      () => rateLimit(platform, request, reply, tierOf, url, limit).then(() => done(), done),
      (err) => refused(request, reply, done, err),
    );
  };
}

/** Sets `request.principal` from the request's credential; a promise only if an authenticator answers with one. */
function authenticate(platform: Platform, request: FastifyRequest, requirement: AuthRequirement): Promise<void> | undefined {
  const token = credentialOf(request);
  if (!token) {
    if (requirement === 'optional') return;
    throw unauthorized();
  }
  const authenticators = platform.authenticators;
  for (let i = 0; i < authenticators.length; i++) {
    const found = authenticators[i](token, request);
    if (found instanceof Promise) return found.then((principal) => authenticateFrom(platform, request, requirement, token, i, principal));
    if (found) return accept(request, requirement, found);
  }
  reject();
}

/** Continues `authenticate` after authenticator `i` answered asynchronously. */
async function authenticateFrom(
  platform: Platform,
  request: FastifyRequest,
  requirement: AuthRequirement,
  token: string,
  i: number,
  principal: Principal | null,
): Promise<void> {
  for (let next = i + 1; !principal && next < platform.authenticators.length; next++) {
    principal = await platform.authenticators[next](token, request);
  }
  if (!principal) reject();
  accept(request, requirement, principal);
}

function accept(request: FastifyRequest, requirement: AuthRequirement, principal: Principal): undefined {
  request.principal = principal;
  if (requirement !== 'optional') requireScopes(principal, requirement.scopes);
  return undefined;
}

function reject(): never {
  throw new AppError('invalid_token', 401, 'The credential is invalid, expired or revoked', undefined, {
    'www-authenticate': 'Bearer error="invalid_token"',
  });
}

/** `X-API-Key: <key>` or `Authorization: Bearer <token>`. */
export function credentialOf(request: FastifyRequest): string | undefined {
  const apiKey = request.headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey) return apiKey.trim();
  const auth = request.headers.authorization;
  if (!auth) return undefined;
  // The common spelling without a regular expression; any other case and spacing with one.
  if (auth.startsWith('Bearer ') && auth.charCodeAt(7) > 32) return auth.slice(7).trim() || undefined;
  const scheme = BEARER.exec(auth);
  return scheme ? auth.slice(scheme[0].length).trim() || undefined : undefined;
}

/**
 * Request ids: `req_` + a random 64-bit instance prefix + a counter. Unique across instances
 * and cheap (a request id is made for every request; a ULID costs several times more).
 */
function requestIds(random: Random): () => string {
  const prefix = `req_${random.bytes(8).toString('hex')}`;
  let counter = 0;
  return () => `${prefix}${(counter++).toString(36)}`;
}

const retryAfterSec = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

async function rateLimit(
  platform: Platform,
  request: FastifyRequest,
  reply: FastifyReply,
  tierOf: (tenant: string) => Promise<string>,
  url: string,
  cfg: BucketSpec | undefined,
): Promise<void> {
  const principal = request.principal;
  const who = principal ? `t:${principal.tenantId}:${principal.subject}` : `ip:${request.ip}`;
  const buckets: { key: string; spec: BucketSpec; window: number }[] = [];
  if (cfg) {
    buckets.push({ key: `${request.method} ${url}|${who}`, spec: cfg, window: cfg.windowSec });
  } else if (principal) {
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
      // Seconds until the next request is allowed when denied (= Retry-After), else until the bucket is full.
      reply.header('x-ratelimit-reset', r.allowed ? Math.ceil(r.resetMs / 1000) : retryAfterSec(r.retryAfterMs));
      reply.header('x-ratelimit-window', `${b.window}s`);
    }
    if (!r.allowed) {
      const retryAfter = retryAfterSec(r.retryAfterMs);
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

/**
 * Runs the rest of the request in its context: events emitted while serving it carry its id and
 * trace context (the incoming traceparent, or the request's own span when Loam traces), and with
 * tracing the hooks, handler and the SQL it runs happen in the span's context.
 */
function runInRequestContext(request: FastifyRequest, tracing: Platform['tracing'], done: () => void): void {
  const origin = (traceparent: string | undefined) => ({ correlationId: String(request.id), traceparent });
  if (!tracing) {
    eventOrigin.run(origin(validTraceparent(request.headers.traceparent)), done);
    return;
  }
  const { span, run } = tracing.startRequest(request.method, request.routeOptions.url ?? 'unmatched', request.headers);
  request.span = span;
  const sc = span.spanContext();
  eventOrigin.run(origin(`00-${sc.traceId}-${sc.spanId}-${sc.traceFlags.toString(16).padStart(2, '0')}`), () => run(done));
}
