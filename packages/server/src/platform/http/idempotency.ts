import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isApiV1 } from './context.js';
import { addRouteHook } from './route-hooks.js';
import type { LoamApp } from './server.js';
import type { MigrationSet } from '../db/migrate.js';
import type { LoamModule, Platform } from '../module.js';
import { AppError } from '../errors.js';
import { RawBody } from './lazy-compilers.js';

/**
 * The `Idempotency-Key` convention of contracts/api-v1.md for any POST route: the first response
 * is kept 24 h per (tenant, principal, key); a retry with the same key and body gets the same
 * status, headers and body; the same key with another body (or on another route) is refused with
 * 422 `idempotency_key_reused`; a retry while the first is still running gets 409. 5xx answers
 * are not kept, so a retry after a failure runs again.
 *
 * Use per route (`app.post(url, { ...hooks, schema, config }, handler)`) or app-wide by adding
 * each hook with `app.addHook`: it acts only on POST requests that carry the header.
 */

export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;
/** A key whose first request left no response this long ago (crash) may be taken over. */
const ABANDONED_AFTER_MS = 5 * 60 * 1000;
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

export const idempotencyMigrations: MigrationSet = {
  module: 'idempotency',
  migrations: {
    async '001_idempotency_keys'(db) {
      await db.schema
        .createTable('idempotency_keys')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('principal', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'integer')
        .addColumn('body', 'text')
        .addColumn('headers', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['tenant_id', 'principal', 'key'])
        .execute();
      await db.schema.createIndex('idempotency_keys_expiry').on('idempotency_keys').column('expires_at').execute();
    },
  },
};

interface Pending {
  tenantId: string;
  principal: string;
  key: string;
  done: boolean;
}

const pendingOf = new WeakMap<FastifyRequest, Pending>();
/** Headers replayed with a stored response. */
const KEPT_HEADERS = ['content-type', 'location', 'etag'];

export interface IdempotencyHooks {
  preHandler(request: FastifyRequest, reply: FastifyReply): Promise<unknown>;
  preSerialization(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
  onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown>;
  onResponse(request: FastifyRequest): Promise<void>;
}

export function idempotencyHooks(platform: Platform): IdempotencyHooks {
  const db = () => platform.database.db;
  const where = (p: Pending) =>
    db().deleteFrom('idempotency_keys').where('tenant_id', '=', p.tenantId).where('principal', '=', p.principal).where('key', '=', p.key);

  async function store(request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<void> {
    const p = pendingOf.get(request);
    if (!p || p.done) return;
    p.done = true;
    if (reply.statusCode >= 500) {
      await where(p).execute();
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of KEPT_HEADERS) {
      const v = reply.getHeader(h);
      if (v !== undefined) headers[h] = String(v);
    }
    await db()
      .updateTable('idempotency_keys')
      .set({ status: reply.statusCode, body: payload == null ? null : JSON.stringify(payload), headers: JSON.stringify(headers) })
      .where('tenant_id', '=', p.tenantId)
      .where('principal', '=', p.principal)
      .where('key', '=', p.key)
      .execute();
  }

  return {
    async preHandler(request: FastifyRequest, reply: FastifyReply) {
      if (request.method !== 'POST' || !isApiV1(request.url)) return;
      const header = request.headers['idempotency-key'];
      if (header === undefined) return;
      const key = Array.isArray(header) ? header[0] : header;
      if (!KEY_PATTERN.test(key))
        throw new AppError('invalid_param', 400, 'Idempotency-Key must be 1 to 255 visible ASCII characters', [
          { field: 'Idempotency-Key', code: 'invalid_format', message: 'Idempotency-Key must be 1 to 255 visible ASCII characters' },
        ]);
      const principal = request.principal;
      if (!principal) return; // public routes have no one to scope the key to
      const now = platform.clock.now();
      const pending: Pending = { tenantId: principal.tenantId, principal: principal.subject, key, done: false };
      // A body parsed by its handler (RawBody) is fingerprinted by its bytes.
      const body = request.body instanceof RawBody ? request.body.bytes : JSON.stringify(request.body ?? null);
      const requestHash = createHash('sha256').update(`${request.method} ${request.url}\n`).update(body).digest('hex');
      // Expired keys, and first attempts that never finished (crashed), no longer hold the key.
      await where(pending)
        .where((eb) =>
          eb.or([eb('expires_at', '<=', now), eb.and([eb('status', 'is', null), eb('created_at', '<=', now - ABANDONED_AFTER_MS)])]),
        )
        .execute();
      const inserted = await db()
        .insertInto('idempotency_keys')
        .values({
          tenant_id: pending.tenantId,
          principal: pending.principal,
          key,
          request_hash: requestHash,
          created_at: now,
          expires_at: now + IDEMPOTENCY_TTL_MS,
        })
        .onConflict((oc) => oc.columns(['tenant_id', 'principal', 'key']).doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted) {
        pendingOf.set(request, pending);
        return;
      }
      const row = await db()
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('tenant_id', '=', pending.tenantId)
        .where('principal', '=', pending.principal)
        .where('key', '=', key)
        .executeTakeFirst();
      if (!row) throw new AppError('conflict', 409, 'A request with this Idempotency-Key is being processed; retry shortly');
      if (row.request_hash !== requestHash)
        throw new AppError(
          'idempotency_key_reused',
          422,
          'This Idempotency-Key was already used with a different request; use a new key for a new request',
        );
      if (row.status == null)
        throw new AppError(
          'idempotency_in_progress',
          409,
          'A request with this Idempotency-Key is still being processed; retry shortly',
          undefined,
          {
            'retry-after': '1',
          },
        );
      reply.code(Number(row.status));
      reply.headers(JSON.parse(row.headers ?? '{}'));
      reply.header('idempotent-replayed', 'true');
      return reply.send(row.body == null ? undefined : JSON.parse(row.body));
    },

    async preSerialization(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
      await store(request, reply, payload);
      return payload;
    },

    async onSend(request: FastifyRequest, reply: FastifyReply, payload: unknown) {
      // Bodiless answers (204) skip preSerialization.
      if (payload == null || payload === '') await store(request, reply, null);
      return payload;
    },

    async onResponse(request: FastifyRequest) {
      // A response that could not be kept (a stream) must not hold the key forever.
      const p = pendingOf.get(request);
      if (p && !p.done) {
        p.done = true;
        await where(p).execute();
      }
    },
  };
}

/** Deletes expired keys; returns how many. */
export async function purgeExpiredIdempotencyKeys(platform: Platform): Promise<number> {
  const r = await platform.database.db.deleteFrom('idempotency_keys').where('expires_at', '<=', platform.clock.now()).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * The convention applies to every POST under /api/v1: the hooks are attached to each such route
 * as it is declared (this module registers before the others) and expired keys are purged hourly.
 */
export function createIdempotencyModule(platform: Platform): LoamModule<undefined> {
  const hooks = idempotencyHooks(platform);
  let purge: NodeJS.Timeout | undefined;
  return {
    name: 'idempotency',
    service: undefined,
    migrations: [idempotencyMigrations],
    routes(app: LoamApp) {
      // Attached to POST routes under /api/v1 only, as they are declared: other requests pay nothing.
      app.addHook('onRoute', (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        if (!methods.includes('POST') || !isApiV1(route.url)) return;
        addRouteHook(route, 'preHandler', hooks.preHandler);
        addRouteHook(route, 'preSerialization', hooks.preSerialization);
        addRouteHook(route, 'onSend', hooks.onSend);
        addRouteHook(route, 'onResponse', hooks.onResponse);
      });
    },
    start() {
      purge = setInterval(() => {
        purgeExpiredIdempotencyKeys(platform).catch((err) => platform.log.warn({ err }, 'idempotency key purge failed'));
      }, 3_600_000);
      purge.unref();
    },
    stop() {
      clearInterval(purge);
    },
  };
}
