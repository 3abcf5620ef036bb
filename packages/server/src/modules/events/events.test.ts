import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EVENT_CATALOGUE } from '@loam/api';
import { parseSSE } from '@loam/sdk';
import { Ajv } from 'ajv';
import { CloudEvent } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';

type Json = any;

/** Reads the event stream until `stop` says so; returns the SSE events (data parsed). */
async function readStream(url: string, headers: Record<string, string>, stop: (events: Json[]) => boolean, timeoutMs = 10_000) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const res = await fetch(url, { headers, signal: controller.signal });
  const events: Json[] = [];
  if (!res.ok || !res.body) return { status: res.status, events, lastId: undefined as string | undefined };
  let lastId: string | undefined;
  try {
    for await (const e of parseSSE(res.body)) {
      if (e.event === 'ready') continue;
      if (e.event === 'error') events.push({ error: JSON.parse(e.data) });
      else {
        events.push({ sse_id: e.id, ...JSON.parse(e.data) });
        lastId = e.id;
      }
      if (stop(events)) break;
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
  return { status: res.status, events, lastId };
}

describe('the event catalogue', () => {
  const seed = [
    'dataset.created',
    'dataset.updated',
    'dataset.deleted',
    'dataset.archived',
    'dataset.schema_changed',
    'dataset.access_granted',
    'dataset.access_revoked',
    'version.created',
    'version.finalized',
    'version.deprecated',
    'version.deleted',
    'version.records_added',
    'version.records_updated',
    'record.created',
    'record.updated',
    'record.deleted',
    'record.anonymized',
    'record.validated',
    'record.exported',
    'access.read',
    'access.write',
    'access.denied',
    'access.policy_evaluated',
  ];

  it('declares the 23 types of the data-vault catalogue with their seed names, audit and access kept 365 days', () => {
    const names = new Set(EVENT_CATALOGUE.map((t) => t.name));
    expect(seed.filter((s) => !names.has(s))).toEqual([]);
    for (const t of EVENT_CATALOGUE.filter((c) => seed.includes(c.name))) expect(t.seedName).toMatch(/^(data|security)\.[a-z]+\.[a-z_]+$/);
    for (const t of EVENT_CATALOGUE.filter((c) => c.name.startsWith('access.'))) expect(t.retention).toBe('audit');
    expect(EVENT_CATALOGUE.find((c) => c.name === 'content.created')?.retention).toBe('standard');
  });

  it('every type a module emits is in the catalogue, and every seed type is emitted somewhere', () => {
    const root = fileURLToPath(new URL('../../', import.meta.url));
    const emitted = new Set<string>();
    const literal = new Set<string>();
    for (const dir of ['modules', 'platform'])
      for (const f of readdirSync(join(root, dir), { recursive: true }).map(String)) {
        if (!f.endsWith('.ts') || f.endsWith('.test.ts')) continue;
        const text = readFileSync(join(root, dir, f), 'utf8');
        // The type is the second argument of emit(tx, 'type', …) / record('type').
        for (const m of text.matchAll(
          /(?:emit\(\s*[\w.]+,\s*|record\()(?:[\w.()':]+ \? )?'([a-z_]+(?:\.[a-z_]+)+)'(?: : '([a-z_.]+)')?/g,
        )) {
          emitted.add(m[1]);
          if (m[2]) emitted.add(m[2]);
        }
        // Types passed on through a variable (policies, authz) appear as literals in the same source.
        for (const m of text.matchAll(/'([a-z]+\.[a-z_]+)'/g)) if (seed.includes(m[1])) literal.add(m[1]);
      }
    const names = new Set(EVENT_CATALOGUE.map((t) => t.name));
    expect([...emitted].filter((e) => !names.has(e))).toEqual([]);
    expect(seed.filter((s) => !emitted.has(s) && !literal.has(s))).toEqual([]);
  });
});

describeEachDialect('events API and stream', (dialect) => {
  let t: TestLoam;
  let base: string;
  let otherKey: string;
  let closeFirst: (() => Promise<void>) | undefined;
  const api = apiCaller(() => t);
  const ajv = new Ajv({ strict: false });

  const start = async (opts: { dataDir?: string; databaseUrl?: string } = {}) => {
    t = await createTestLoam({
      dialect,
      ...opts,
      config: { rateLimitEnabled: false, eventsHeartbeatMs: 50, eventsStreamPollMs: 20, eventsMaxBufferedBytes: 65_536 },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as { port: number }).port}`;
  };
  const emit = (n: number, type = 'prompt.created', tenantId = 'default', size = 0) =>
    t.loam.platform.transaction(async (tx) => {
      for (let i = 0; i < n; i++)
        await t.loam.platform.events.emit(tx, type, `sub_${i}`, { id: `p_${i}`, name: 'x'.repeat(size), version: 1 }, { tenantId });
    });

  beforeAll(async () => {
    await start();
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'other', 'Other'));
    otherKey = (await t.loam.services.apiKeys.create('other', { name: 'other', scopes: ['events:read'] })).key;
  });
  afterAll(async () => {
    await t.close();
    await closeFirst?.();
  });

  it('GET /events/types lists the catalogue with JSON Schemas', async () => {
    const r = await api('GET', '/api/v1/events/types');
    expect(r.status).toBe(200);
    const created = r.json.data.find((e: Json) => e.type === 'io.loam.dataset.created');
    expect(created).toMatchObject({ name: 'dataset.created', seed_name: 'data.dataset.created', version: '1.0', retention_days: 7 });
    expect(created.schema.type).toBe('object');
    expect(r.json.data.find((e: Json) => e.name === 'access.denied').retention_days).toBe(365);
  });

  it('events carry the request’s id and trace context, validate as CloudEvents and match their data schema', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const created = await api(
      'POST',
      '/api/v1/datasets',
      { name: 'evts', schema: { fields: [{ name: 'a', type: 'string' }] } },
      { traceparent },
    );
    expect(created.status).toBe(201);
    const id = created.json.data.id;
    expect((await api('POST', `/api/v1/datasets/${id}/records`, [{ data: { a: 'x' } }])).status).toBe(201);
    // On PostgreSQL the log shows an event once every older transaction in the cluster has ended
    // (store.ts), and other test files share the server: wait for the four of them.
    const r = await eventually(async () => {
      const page = await api('GET', `/api/v1/events?type=dataset.*,record.*,version.records_*&subject=${id}`);
      if (page.status !== 200 || page.json.data.length < 4) throw new Error(`${page.json.data?.length} events so far`);
      return page;
    }, 30_000);
    const types = r.json.data.map((e: Json) => e.type);
    expect(types).toEqual([
      'io.loam.dataset.created',
      'io.loam.record.created',
      'io.loam.record.validated',
      'io.loam.version.records_added',
    ]);
    const [first] = r.json.data;
    expect(first).toMatchObject({ tenantid: 'default', traceparent, correlationid: created.headers['x-request-id'], subject: id });
    for (const e of r.json.data) {
      const { position: _p, ...ce } = e;
      expect(() => new CloudEvent(ce, true).validate()).not.toThrow();
      const spec = EVENT_CATALOGUE.find((c) => `io.loam.${c.name}` === e.type);
      expect(ajv.validate(spec?.schema as object, e.data), `${e.type}: ${ajv.errorsText()}`).toBe(true);
      expect(e.dataschema).toContain(spec?.name);
    }
    const one = await api('GET', `/api/v1/events/${first.id}`);
    expect(one.status).toBe(200);
    expect(one.json.data).toEqual(first);
    // Another tenant sees neither the event nor it in lists.
    expect((await api('GET', `/api/v1/events/${first.id}`, undefined, { 'x-api-key': otherKey })).status).toBe(404);
    const theirs = await api('GET', `/api/v1/events?subject=${id}`, undefined, { 'x-api-key': otherKey });
    expect(theirs.json.data).toEqual([]);
  });

  it('pages with a signed cursor, filters by wildcard and time, and refuses bad input with 400', async () => {
    await emit(5, 'anonymization.budget_set');
    await eventually(async () => (await api('GET', '/api/v1/events?type=*.budget_set')).json.data.length >= 5, 30_000);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const r: Json = await api('GET', `/api/v1/events?type=*.budget_set&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(r.status).toBe(200);
      seen.push(...r.json.data.map((e: Json) => e.id));
      cursor = r.json.pagination.cursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await api('GET', `/api/v1/events?type=anonymization.*&since=${future}`)).json.data).toEqual([]);
    expect((await api('GET', `/api/v1/events?type=anonymization.*&until=${future}`)).json.data.length).toBeGreaterThanOrEqual(5);
    // `_` is not a wildcard: it matches only itself.
    expect((await api('GET', '/api/v1/events?type=anonymization.budget_se_')).json.data).toEqual([]);
    expect((await api('GET', '/api/v1/events?cursor=forged.abc')).status).toBe(400);
    expect((await api('GET', '/api/v1/events?type=DROP%20TABLE')).status).toBe(400);
    expect((await api('GET', '/api/v1/events?since=yesterday')).status).toBe(400);
    expect((await api('GET', '/api/v1/events/evt_nope')).status).toBe(404);
  });

  it('the stream delivers live events with positions, and resumes with Last-Event-ID without gap or duplicate, across a restart', async () => {
    const got: Json[] = [];
    const first = readStream(`${base}/api/v1/events/stream?type=prompt.*`, t.admin, (ev) => ev.length >= 30);
    await new Promise((r) => setTimeout(r, 100));
    await emit(30);
    const a = await first;
    expect(a.status).toBe(200);
    got.push(...a.events);
    // Cut off after 30; 40 more happen while no one listens, and the server restarts.
    await emit(40);
    const { dataDir, databaseUrl } = t;
    await t.stop();
    closeFirst = t.close;
    await start({ dataDir, databaseUrl });
    const resumed = readStream(
      `${base}/api/v1/events/stream?type=prompt.*`,
      { ...t.admin, 'last-event-id': a.lastId as string },
      (ev) => ev.length >= 50,
    );
    await new Promise((r) => setTimeout(r, 100));
    await emit(10);
    const b = await resumed;
    got.push(...b.events);
    expect(got).toHaveLength(80);
    expect(new Set(got.map((e) => e.id)).size).toBe(80);
    expect(got.every((e) => e.type === 'io.loam.prompt.created' && e.position === e.sse_id)).toBe(true);
    // In log order: the subjects run 0..29, 0..39, 0..9.
    expect(got.map((e) => e.subject)).toEqual([...[30, 40, 10].flatMap((n) => Array.from({ length: n }, (_, i) => `sub_${i}`))]);
  });

  it('a stream sees only its own tenant’s events; a bad Last-Event-ID is a 400', async () => {
    const mine = readStream(`${base}/api/v1/events/stream?type=prompt.created`, { 'x-api-key': otherKey }, (ev) => ev.length >= 2);
    await new Promise((r) => setTimeout(r, 100));
    await emit(3, 'prompt.created', 'default');
    await emit(2, 'prompt.created', 'other');
    const { events } = await mine;
    expect(events.map((e) => e.tenantid)).toEqual(['other', 'other']);
    const bad = await fetch(`${base}/api/v1/events/stream`, { headers: { ...t.admin, 'last-event-id': 'nope' } });
    expect(bad.status).toBe(400);
    await bad.body?.cancel();
  });

  it('a client that stops reading is cut off with a final error event instead of being buffered for', async () => {
    const url = new URL(`${base}/api/v1/events/stream?type=prompt.deleted`);
    const socket = connect(Number(url.port), '127.0.0.1');
    socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: x\r\nx-api-key: ${t.adminKey}\r\n\r\n`);
    await new Promise((r) => socket.once('data', r));
    socket.pause();
    // ~16 MB of events for a reader that reads nothing: far beyond socket buffers and the 64 KiB allowance.
    for (let i = 0; i < 8; i++) await emit(32, 'prompt.deleted', 'default', 64 * 1024);
    await eventually(() => t.loam.services.events.hub.size === 0, 10_000);
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.resume();
    // The response ends (last chunk) after the error event; the connection itself may stay open.
    await eventually(() => Buffer.concat(chunks).toString().includes('\r\n0\r\n\r\n'), 10_000);
    socket.destroy();
    const text = Buffer.concat(chunks).toString();
    expect(text).toContain('event: error');
    expect(text).toContain('"code":"slow_consumer"');
    expect(text.length).toBeLessThan(15 * 1024 * 1024);
  });
});
