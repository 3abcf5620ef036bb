import { AdminHealth, AtriumnHealth, Envelope, Liveness, Readiness, Whoami } from '@loam/api';
import { sql } from 'kysely';
import { Gauge } from 'prom-client';
import { pendingMigrations } from '../../platform/db/migrate.js';
import { principalOf, sendEnvelope } from '../../platform/http/context.js';
import { consoleDistDir, consoleRoutes } from '../../platform/http/console.js';
import { docsRoutes } from '../../platform/http/docs.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { Platform } from '../../platform/index.js';
import type { Migrator } from 'kysely';
import { VERSION } from '../../platform/version.js';
import { safeEqual } from '../../platform/crypto/index.js';

export { VERSION } from '../../platform/version.js';

async function timed<T>(fn: () => Promise<T>): Promise<{ ok: boolean; ms: number; value?: T; error?: string }> {
  const t = performance.now();
  try {
    const value = await fn();
    return { ok: true, ms: Math.round((performance.now() - t) * 100) / 100, value };
  } catch (err) {
    return { ok: false, ms: Math.round((performance.now() - t) * 100) / 100, error: (err as Error).message };
  }
}

/** Liveness, readiness, Atriumn health, admin health, Prometheus metrics, OpenAPI and docs. */
export async function systemRoutes(app: LoamApp, platform: Platform, migrator: Migrator): Promise<void> {
  const { database } = platform;
  const startedAt = Date.now();

  app.get(
    '/healthz',
    { config: { rateLimit: false }, schema: { tags: ['System'], summary: 'Liveness', response: { 200: Liveness } } },
    async () => ({
      status: 'ok' as const,
    }),
  );

  app.get(
    '/readyz',
    {
      config: { rateLimit: false },
      schema: {
        tags: ['System'],
        summary: 'Readiness: database, migrations, blob store and every configured dependency (Redis, NATS)',
        response: { 200: Readiness, 503: Readiness },
      },
    },
    async (_request, reply) => {
      const db = await timed(() => sql`select 1`.execute(database.db));
      const pending = db.ok
        ? await timed(() => pendingMigrations(migrator))
        : { ok: false, value: [] as string[], error: 'database unreachable' };
      const migrationsOk = pending.ok && (pending.value?.length ?? 0) === 0;
      const checks: Record<string, { ok: boolean; detail?: string }> = {
        database: { ok: db.ok, ...(db.error ? { detail: db.error } : {}) },
        migrations: {
          ok: migrationsOk,
          ...(pending.error ? { detail: pending.error } : pending.value?.length ? { detail: `pending: ${pending.value.join(', ')}` } : {}),
        },
      };
      let ready = db.ok && migrationsOk;
      let degraded = false;
      const results = await Promise.all(platform.dependencies.map((d) => timed(() => d.check())));
      platform.dependencies.forEach((d, i) => {
        const r = results[i];
        checks[d.name] = r.ok ? { ok: true } : { ok: false, detail: d.whileDown ? `${r.error}; ${d.whileDown}` : r.error };
        if (!r.ok && d.required) ready = false;
        else if (!r.ok) degraded = true;
      });
      return reply.code(ready ? 200 : 503).send({ status: ready ? (degraded ? 'degraded' : 'ready') : 'not_ready', checks });
    },
  );

  app.get(
    '/api/v1/admin/health',
    {
      config: { auth: { scopes: ['admin'] } },
      schema: { tags: ['Admin'], summary: 'Components and versions', response: { 200: Envelope(AdminHealth) } },
    },
    async (request, reply) => {
      const db = await timed(() => database.version());
      const redis = platform.redis
        ? await timed(async () => {
            const info = await platform.redis!.info('server');
            return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
          })
        : undefined;
      const depth = await timed(() => platform.jobs.depth());
      const lag = await timed(() => platform.events.lag());
      const components = [
        {
          name: 'database',
          kind: database.dialect.name,
          status: db.ok ? 'up' : 'down',
          latency_ms: db.ms,
          ...(db.ok ? { version: db.value } : { detail: db.error }),
        },
        redis
          ? {
              name: 'redis',
              kind: 'redis',
              status: redis.ok ? 'up' : 'down',
              latency_ms: redis.ms,
              ...(redis.ok ? { version: redis.value } : { detail: redis.error }),
            }
          : { name: 'redis', kind: 'redis', status: 'disabled', detail: 'LOAM_REDIS_URL unset; rate limits kept in memory' },
        {
          name: 'jobs',
          kind: database.dialect.name,
          status: depth.ok ? 'up' : 'down',
          detail: depth.ok ? JSON.stringify(depth.value) : depth.error,
        },
        { name: 'event_relay', kind: 'outbox', status: lag.ok ? 'up' : 'down', detail: lag.ok ? `lag ${lag.value} events` : lag.error },
      ] as const;
      return sendEnvelope(request, reply, {
        status: components.every((c) => c.status !== 'down') ? 'up' : 'degraded',
        version: VERSION,
        node: process.version,
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        components,
      });
    },
  );

  app.get(
    '/api/v1/whoami',
    {
      config: { auth: { scopes: [] } },
      schema: {
        tags: ['System'],
        summary: 'The caller as Loam sees it (tenant, subject, scopes, roles)',
        response: { 200: Envelope(Whoami) },
      },
    },
    async (request, reply) => {
      const p = principalOf(request);
      return sendEnvelope(
        request,
        reply,
        {
          tenant_id: p.tenantId,
          subject: p.subject,
          kind: p.kind,
          scopes: p.scopes,
          roles: p.roles,
          credential_id: p.credentialId ?? null,
        },
        { links: { self: '/api/v1/whoami' } },
      );
    },
  );

  metricsRoute(app, platform);

  docsRoutes(app, {
    openapi: '3.1.0',
    info: { title: 'Loam', version: VERSION, description: 'Self-hostable data platform for LLM applications' },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
    },
    security: [{ bearer: [] }, { apiKey: [] }],
  });
  await consoleRoutes(app, consoleDistDir());
}

/** Prometheus metrics, with gauges of the job queue and the outbox read when scraped. */
function metricsRoute(app: LoamApp, platform: Platform): void {
  new Gauge({
    name: 'loam_jobs',
    help: 'Jobs by status (queue depth = queued)',
    labelNames: ['status'],
    registers: [platform.metrics],
    async collect() {
      const depth = await platform.jobs.depth().catch(() => undefined);
      if (depth) for (const [status, n] of Object.entries(depth)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'loam_outbox_lag_events',
    help: 'Committed events not yet delivered to the slowest subscriber',
    registers: [platform.metrics],
    async collect() {
      const lag = await platform.events.lag().catch(() => undefined);
      if (lag !== undefined) this.set(lag);
    },
  });

  const token = platform.config.metricsToken;
  app.get('/metrics', { config: { rateLimit: false }, schema: { hide: true } }, async (request, reply) => {
    // Open unless LOAM_METRICS_TOKEN is set; then only `Authorization: Bearer <token>` reads it.
    if (token) {
      const given = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      if (!safeEqual(given, token))
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ error: 'unauthorized', error_description: 'The metrics token is missing or wrong' });
    }
    return reply.type(platform.metrics.contentType).send(await platform.metrics.metrics());
  });
}
/** Atriumn's `GET /health`, mounted with the other Atriumn routes. */
export function atriumnHealthRoute(app: LoamApp): void {
  app.get(
    '/health',
    {
      config: { rateLimit: { limit: 60, windowSec: 60 } },
      schema: { tags: ['Atriumn: auth'], summary: 'Atriumn health', response: { 200: AtriumnHealth } },
    },
    async () => ({ status: 'ok' as const }),
  );
}
