import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';

type Json = Record<string, any>;

describeEachDialect('analytics: custom events and the metrics summary', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t.close());

  const record = async (body: Json, headers?: Record<string, string>) => call('POST', '/api/v1/analytics/events', body, headers);

  it('records events per tenant and lists them by type, subject and time', async () => {
    const q = await record({ type: 'quality.score', subject: 'ds_1', value: 0.93, properties: { checks: ['nulls', 'dupes'] } });
    expect(q.status, q.body).toBe(201);
    expect(q.json.data).toMatchObject({ id: expect.stringMatching(/^aev_/), type: 'quality.score', subject: 'ds_1', value: 0.93 });
    expect(q.json.data.properties).toEqual({ checks: ['nulls', 'dupes'] });
    expect((await record({ type: 'lineage.note', subject: 'ds_1', properties: { note: 'joined with crm' } })).status).toBe(201);
    expect((await record({ type: 'quality.score', subject: 'ds_2', value: 0.5, time: '2026-01-01T00:00:00Z' })).status).toBe(201);

    const list = async (query: string, headers?: Record<string, string>) => {
      const r = await call('GET', `/api/v1/analytics/events${query}`, undefined, headers);
      expect(r.status, r.body).toBe(200);
      return r.json;
    };
    expect((await list('')).data).toHaveLength(3);
    expect((await list('?type=quality.score')).data.map((e: Json) => e.subject)).toEqual(['ds_1', 'ds_2']);
    expect((await list('?subject=ds_1')).data.map((e: Json) => e.type)).toEqual(['quality.score', 'lineage.note']);
    expect((await list('?type=quality.score&since=2026-06-01T00:00:00Z')).data.map((e: Json) => e.subject)).toEqual(['ds_1']);
    expect((await list('?until=2026-06-01T00:00:00Z')).data.map((e: Json) => e.subject)).toEqual(['ds_2']);
    const first = await list('?limit=2');
    expect(first.data).toHaveLength(2);
    const rest = await list(first.links.next.replace('/api/v1/analytics/events', ''));
    expect(rest.data).toHaveLength(1);
    expect((await call('GET', rest.links.prev)).json.data).toEqual(first.data);

    // Another tenant sees none of them, and its own stay its own.
    const other = await keyHeaders(t, 'analytics-other', { scopes: ['analytics:read', 'analytics:write'] });
    expect((await list('', other)).data).toEqual([]);
    expect((await record({ type: 'quality.score', value: 1 }, other)).status).toBe(201);
    expect((await list('')).data).toHaveLength(3);
  });

  it('validates events and enforces scopes', async () => {
    for (const bad of [
      { type: 'Bad Type' },
      { type: 'x', extra: 1 },
      { type: 'x', value: 'high' },
      { type: 'x', subject: '' },
      { type: 'x', properties: { blob: 'y'.repeat(17_000) } },
    ]) {
      const r = await record(bad);
      expect(r.status, JSON.stringify(bad).slice(0, 60)).toBe(400);
      expect(r.headers['content-type']).toMatch(/problem\+json/);
    }
    const reader = await keyHeaders(t, 'default', { scopes: ['analytics:read'] });
    expect((await record({ type: 'x' }, reader)).status).toBe(403);
    const writer = await keyHeaders(t, 'default', { scopes: ['analytics:write'] });
    expect((await call('GET', '/api/v1/analytics/events', undefined, writer)).status).toBe(403);
  });

  it('GET /api/v1/admin/metrics summarizes the operational metrics for platform admins only', async () => {
    const r = await call('GET', '/api/v1/admin/metrics');
    expect(r.status, r.body).toBe(200);
    const m = r.json.data;
    expect(m.http.requests).toBeGreaterThan(0);
    expect(m.http.by_status['2xx']).toBeGreaterThan(0);
    expect(m.http.by_status['4xx']).toBeGreaterThan(0); // the validation failures above
    expect(m.http.latency_seconds.p50).toBeGreaterThan(0);
    expect(m.process.rss_bytes).toBeGreaterThan(0);
    expect(Object.keys(m.jobs)).toEqual(expect.arrayContaining(['queued', 'dead']));
    expect(typeof m.events.outbox_lag).toBe('number');
    const tenantAdmin = await keyHeaders(t, 'default', { roles: ['admin'] });
    expect((await call('GET', '/api/v1/admin/metrics', undefined, tenantAdmin)).status).toBe(403);
  });
});
