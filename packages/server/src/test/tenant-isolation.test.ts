/**
 * Tenant isolation, for every authenticated route the app registers (including routes modules
 * add later): an admin of tenant B calls each one with the ids of tenant A's objects and must
 * never get tenant A's data; object routes answer 404, never 403 or 500.
 *
 * Tenant A's objects come from the seeders below plus every id found in A's own list responses,
 * so a module only needs to add a seeder when its objects are not created by another seeder.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RequestContext } from '../platform/context.js';
import type { RegisteredRoute } from '../platform/http/server.js';
import { type TestLoam, createTestLoam, describeEachDialect } from './harness.js';
import { drainEvents, keyHeaders } from './principals.js';

const TENANT_A = 'default';
const TENANT_B = 'isolation-b';
/** Appears in every seeded object of tenant A, so any leak of it in a response is visible. */
const MARKER = `tenant-a-marker-${randomUUID().slice(0, 8)}`;
const ID = /^[a-z][a-z0-9]{0,15}_[0-9A-HJKMNP-TV-Z]{26}$/;

/** A tenant admin acting through a service, as a request would. */
const adminOf = (tenantId: string): RequestContext => ({
  tenantId,
  principal: { tenantId, subject: 'key_seeder', kind: 'api_key', roles: ['admin'], scopes: [] },
  requestId: 'req_seed',
  ip: '127.0.0.1',
});

/** Objects of tenant A, created through the services (each returns nothing: ids are harvested). */
const seeders: ((t: TestLoam) => Promise<unknown>)[] = [
  // First: the policy seeded below makes tenant A deny what no policy permits.
  // A knowledge base of tenant A with a document awaiting its upload.
  async (t) => {
    const kb = t.loam.services.knowledge.knowledge;
    const c = await kb.createCollection(adminOf(TENANT_A), { name: `${MARKER} collection`, metadata: { marker: MARKER } });
    await kb.createDocument(adminOf(TENANT_A), { collection_id: c.id, filename: `${MARKER}.txt`, content_type: 'text/plain' });
  },
  (t) => t.loam.services.apiKeys.create(TENANT_A, { name: `${MARKER} key`, scopes: ['datasets:read'] }),
  (t) =>
    t.loam.services.policies.create(adminOf(TENANT_A), {
      name: `${MARKER} policy`,
      policy: `permit(principal, action, resource) when { principal.department == "${MARKER}" };`,
    }),
  async (t) => {
    const { platform } = t.loam;
    await platform.transaction((tx) =>
      platform.events.emit(tx, 'user.logged_in', 'usr_a', { actor: MARKER, actor_kind: 'user', ip: '10.0.0.1' }, { tenantId: TENANT_A }),
    );
    await drainEvents(t);
  },
  // LLM gateway usage of tenant A (no provider is configured here, so it is written as a call would).
  (t) =>
    t.loam.platform.database.db
      .insertInto('llm_usage_daily')
      .values({
        tenant_id: TENANT_A,
        day: new Date().toISOString().slice(0, 10),
        model: `${MARKER}-model`,
        calls: 1,
        input_tokens: 5,
        output_tokens: 5,
      })
      .execute(),
];

/**
 * Tenant A's objects created through contract routes (stable whatever the module's internals);
 * a route that is not registered (yet) is skipped.
 */
const httpSeeds: { method: 'POST'; url: string; payload: Record<string, unknown> }[] = [
  { method: 'POST', url: '/admin/credentials', payload: { issued_to: `${MARKER} client`, scopes: ['storage'] } },
  { method: 'POST', url: '/prompts', payload: { name: `${MARKER} prompt`, template: `Hello {{name}} ${MARKER}` } },
  { method: 'POST', url: '/ingest/text', payload: { content: `${MARKER} text` } },
  // A dataset with a PII field (the catalogue, compliance report and anonymization requirements
  // read it) and an analytics event.
  {
    method: 'POST',
    url: '/api/v1/datasets',
    payload: {
      name: `${MARKER}-dataset`,
      description: MARKER,
      tags: [MARKER],
      schema: { fields: [{ name: 'email', type: 'string', pii: 'email' }] },
    },
  },
  { method: 'POST', url: '/api/v1/analytics/events', payload: { type: 'isolation.seed', subject: MARKER, value: 1 } },
  // A tenant the operator (tenant A's platform admin) made: tenant B's admin may not see it.
  { method: 'POST', url: '/api/v1/admin/tenants', payload: { id: 'isolation-a-made', name: `${MARKER} tenant` } },
  {
    method: 'POST',
    url: `/api/v1/sessions/bus-seed-${MARKER.slice(-8)}/messages`,
    payload: { type: 'seed', data: { text: `${MARKER} message` } },
  },
  {
    method: 'POST',
    url: '/api/v1/logs',
    payload: {
      records: [{ level: 'error', message: `${MARKER} log`, execution_id: `exec-${MARKER.slice(-8)}`, attributes: { m: MARKER } }],
    },
  },
];

/** Ids in a response: values of `id` keys, and anything shaped like a Loam id. */
function collectIds(value: unknown, into: Set<string>, key = ''): void {
  if (typeof value === 'string') {
    const idKey = key === 'id' && /^[A-Za-z0-9_-]{8,128}$/.test(value);
    if ((idKey || ID.test(value)) && !value.startsWith('req_')) into.add(value); // request ids name no object
  } else if (Array.isArray(value)) for (const v of value) collectIds(v, into);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) collectIds(v, into, k);
}

/** A body that satisfies the route's schema where TypeBox can make one; `{}` otherwise. */
function sampleBody(route: RegisteredRoute): Record<string, unknown> {
  const schema = route.schema?.body as TSchema | undefined;
  if (!schema) return {};
  try {
    const v = Value.Create(schema);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const fillParams = (url: string, id: string) => url.replace(/:[A-Za-z0-9_]+/g, id).replace(/\*$/, id);
const hasParams = (url: string) => /:[A-Za-z0-9_]+|\*$/.test(url);

interface Outcome {
  status: number;
  contentType: string;
  body: string;
}

describeEachDialect('tenant isolation across every authenticated route', (dialect) => {
  let t: TestLoam;
  let base: string;
  let foreign: { 'x-api-key': string };
  const aIds = new Set<string>();
  let routes: RegisteredRoute[] = [];

  beforeAll(async () => {
    // The Atriumn routes are walked at the root and under a prefix, as they are served.
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false, logLevel: 'silent', atriumnPrefix: '/atriumn' } });
    for (const seed of seeders) await seed(t);
    routes = t.app
      .registeredRoutes()
      .filter((r) => r.config.auth && r.method !== 'HEAD' && r.method !== 'OPTIONS')
      .filter((r, i, all) => all.findIndex((o) => o.method === r.method && o.url === r.url) === i);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    for (const seed of httpSeeds) {
      const res = await call(seed.method, seed.url, t.admin, seed.payload);
      if (res.status >= 200 && res.status < 300) collectIds(JSON.parse(res.body), aIds);
    }
    // Harvest tenant A's ids from every list A's admin can read.
    for (const r of routes.filter((r) => r.method === 'GET' && !hasParams(r.url))) {
      const res = await call('GET', r.url, t.admin);
      if (res.status === 200 && res.contentType.includes('json')) collectIds(JSON.parse(res.body), aIds);
    }
    foreign = await keyHeaders(t, TENANT_B, { roles: ['admin'], scopes: ['*'], name: 'tenant B admin' });
  }, 120_000);
  afterAll(() => t?.close());

  async function call(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<Outcome> {
    const res = await fetch(base + path, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
      redirect: 'manual',
    });
    const contentType = res.headers.get('content-type') ?? '';
    if (contentType.includes('text/event-stream')) {
      // A stream never ends by itself: read what arrives first, then hang up.
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      const first = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(r, 300))]);
      await reader.cancel().catch(() => {});
      return { status: res.status, contentType, body: first?.value ? Buffer.from(first.value).toString() : '' };
    }
    return { status: res.status, contentType, body: await res.text() };
  }

  it('seeds tenant A and finds routes to walk', () => {
    expect(aIds.size).toBeGreaterThanOrEqual(3); // api key, policy, audit entry at least
    expect(routes.some((r) => r.url === '/api/v1/admin/policies/:id')).toBe(true);
    expect(routes.some((r) => r.url === '/api/v1/admin/audit-logs/:id')).toBe(true);
    expect(routes.some((r) => r.url.startsWith('/atriumn/'))).toBe(true);
    expect(routes.some((r) => r.url === '/api/v1/llm/usage')).toBe(true);
    expect(routes.some((r) => r.url === '/v1/chat/completions')).toBe(true);
    expect(routes.some((r) => r.url === '/api/v1/admin/tenants/:id')).toBe(true);
    expect(aIds.has('isolation-a-made')).toBe(true);
  });

  it('a foreign tenant’s admin never gets tenant A’s data; object routes answer 404', async () => {
    const failures: string[] = [];
    const randomId = `zz_${'0'.repeat(10)}${'Z'.repeat(16)}`;
    let calls = 0;
    // Names B gave to its own objects on caller-named routes (a session called like one of A's
    // ids is B's session): when they come back later, that is B's data, not a leak.
    const namedByB = new Set<string>();
    for (const route of routes) {
      const objectRoute = hasParams(route.url);
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : sampleBody(route);
      // A route that answers 2xx for an id nobody created names its objects by the caller's
      // choice (e.g. a budget per subject): there, the id in the path is B's own name.
      let callerNamed = false;
      for (const id of objectRoute ? [randomId, ...aIds] : ['']) {
        for (const claimA of [false, true]) {
          const path = fillParams(route.url, id) + (claimA ? `?tenantId=${TENANT_A}&tenant_id=${TENANT_A}` : '');
          const payload = body && claimA ? { ...body, tenantId: TENANT_A, tenant_id: TENANT_A } : body;
          const res = await call(route.method, path, foreign, payload);
          calls++;
          const what = `${route.method} ${path} → ${res.status}`;
          const ok = res.status >= 200 && res.status < 300;
          if (res.status >= 500 && res.status !== 501 && res.status !== 503)
            failures.push(`${what}: server error ${res.body.slice(0, 200)}`);
          if (ok) {
            // What B sent may come back; anything else of tenant A's is a leak.
            const leaked = [...aIds, MARKER].find((l) => l !== id && !namedByB.has(l) && res.body.includes(l));
            if (leaked) failures.push(`${what}: response contains tenant A's ${leaked}`);
          }
          if (id === randomId && !claimA) callerNamed = ok;
          if (callerNamed && ok && id !== MARKER) namedByB.add(id);
          if (objectRoute && !claimA && !callerNamed) {
            // The object does not exist for tenant B. A body the route rejects before looking
            // (400/415/422) reveals nothing either.
            const rejectedInput = [400, 415, 422].includes(res.status) && payload !== undefined;
            if (res.status !== 404 && !rejectedInput) failures.push(`${what}: expected 404 for an object of another tenant`);
          }
        }
      }
    }
    expect(calls).toBeGreaterThan(routes.length);
    expect(failures).toEqual([]);
  }, 300_000);

  it('tenant A’s admin still sees its own objects (the walk proves something)', async () => {
    const policies = await call('GET', '/api/v1/admin/policies', t.admin);
    expect(policies.status).toBe(200);
    expect(policies.body).toContain(MARKER);
    const usage = await call('GET', '/api/v1/llm/usage', t.admin);
    expect(usage.body).toContain(MARKER);
  });
});
