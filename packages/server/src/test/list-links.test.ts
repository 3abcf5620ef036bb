/**
 * Every paginated list of `/api/v1`, walked as a client would: forwards by `links.next` to the
 * end, then back by `links.prev` to the start, with a filter applied. The pages must be the same
 * items in the same order both ways, every link must keep the request's filters and page size,
 * and every item must match the filter. A list route the app registers (a GET with `?cursor=`)
 * that is missing from the walks below fails the inventory check.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { receiver } from '../modules/events/testing.js';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect, eventually } from './harness.js';
import { drainEvents } from './principals.js';

type Json = Record<string, any>;

interface Walk {
  /** The route as registered. */
  route: string;
  /** The first page's URL: a filter and a small page size. */
  url: () => string;
  /** Whether an item satisfies the filter. */
  holds: (item: Json) => boolean;
  /** The items of a page (default: `data`). */
  items?: (body: Json) => unknown[];
}

const N = 5; // items the filter selects in every list: three pages of two
const PAGE = 2;

describeEachDialect('list links: every /api/v1 list walks forwards by links.next and back by links.prev', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  const ids: Record<string, string> = {};
  let rx: Awaited<ReturnType<typeof receiver>>;

  const ok = async (method: string, url: string, body?: unknown, headers?: Record<string, string>) => {
    const r = await call(method, url, body, headers);
    expect(r.status, `${method} ${url}: ${r.body}`).toBeLessThan(300);
    return r.json as Json;
  };

  beforeAll(async () => {
    rx = await receiver();
    t = await createTestLoam({
      dialect,
      config: { rateLimitEnabled: false, webhookAllowPrivateTargets: true, relayPollMs: 20, jobPollMs: 20 },
    });
    t.loam.startBackground({ workers: 2, relay: true });
    // Webhooks: N endpoints; N test deliveries of the first, all answered.
    for (let i = 0; i < N; i++)
      ids[`hook${i}`] = (await ok('POST', '/api/v1/webhooks', { url: `${rx.url}/walk${i}`, events: ['walk.nothing'] })).data.id;
    for (let i = 0; i < N; i++) await ok('POST', `/api/v1/webhooks/${ids.hook0}/test`);
    for (let i = 0; i < N; i++) {
      await ok('POST', '/api/v1/admin/tenants', { id: `walk-${i}`, name: `Walk ${i}` });
      await ok('POST', '/api/v1/api-keys', { name: `walk key ${i}` });
      await ok('POST', '/auth/signup', { email: `walk${i}@example.com`, password: 'Pa55word-for-walking-lists' });
      await ok('POST', '/api/v1/admin/policies', { name: `walk-permit-${i}`, policy: 'permit(principal, action, resource);' });
      await ok('POST', '/api/v1/datasets', { name: `walk-${i}`, tags: ['walk'], schema: { fields: [] } });
      await ok('POST', '/api/v1/collections', { name: `walk collection ${i}` });
      await ok('POST', '/api/v1/sessions/walk:messages/messages', { data: { n: i } });
      await ok('POST', `/api/v1/sessions/walk:s${i}/messages`, { data: { n: i } });
      await ok('POST', '/api/v1/analytics/events', { type: 'walk.score', subject: `s${i}`, value: i });
    }
    await ok('POST', '/api/v1/datasets', { name: 'not-walked', schema: { fields: [] } });
    await ok('POST', '/api/v1/analytics/events', { type: 'other.score', subject: 'x', value: 1 });
    for (let i = 0; i < 7; i++) await ok('POST', '/api/v1/sessions/walk:messages/messages', { data: { n: N + i } });
    await ok('POST', '/api/v1/sessions/other:1/messages', { data: {} });

    // Records with a sort field (some missing: nulls sort last), only some matching the filter.
    const ds = (await ok('POST', '/api/v1/datasets', { name: 'walk-records', schema: { fields: [] } })).data.id;
    ids.ds = ds;
    const kinds = ['a', 'b', 'a', 'a', 'b', 'a', 'a', 'b'];
    await ok(
      'POST',
      `/api/v1/datasets/${ds}/records`,
      kinds.map((kind, i) => ({ data: { kind, ...(i % 3 === 2 ? {} : { score: i % 4 }) } })),
    );
    // Versions, and a diff of N records between the first and the draft.
    ids.v1 = (await ok('POST', `/api/v1/datasets/${ds}/versions`, { description: 'v1' })).data.id;
    for (let i = 1; i < N; i++) await ok('POST', `/api/v1/datasets/${ds}/versions`, { description: `v${i + 1}` });
    await ok(
      'POST',
      `/api/v1/datasets/${ds}/records`,
      Array.from({ length: N }, (_, i) => ({ data: { kind: 'new', n: i } })),
    );
    // An import with N bad lines.
    const file = ['{"kind":"ok"}', ...Array.from({ length: N }, () => 'not json')].join('\n');
    const imp = await ok('POST', `/api/v1/datasets/${ds}/records/import`, file, { 'content-type': 'application/x-ndjson' });
    ids.importErrors = `${imp.links.import}/errors`;

    // Knowledge: N documents in one collection, one in another.
    const [kb, other] = await Promise.all([
      ok('POST', '/api/v1/collections', { name: 'walk kb' }),
      ok('POST', '/api/v1/collections', { name: 'other kb' }),
    ]);
    ids.kb = kb.data.id;
    for (let i = 0; i <= N; i++)
      await ok('POST', '/api/v1/documents', {
        collection_id: i < N ? kb.data.id : other.data.id,
        filename: `d${i}.txt`,
        content_type: 'text/plain',
      });

    // Logs: N records of one execution (and one of another); N executions of one session.
    const records = Array.from({ length: N }, (_, i) => ({
      level: 'info',
      message: `walk ${i}`,
      time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    }));
    await ok('POST', '/api/v1/logs', { records }, { 'x-loam-execution-id': 'walk-exec' });
    await ok('POST', '/api/v1/logs', { records: [{ level: 'info', message: 'other' }] }, { 'x-loam-execution-id': 'other-exec' });
    for (let i = 0; i < N; i++)
      await ok(
        'POST',
        '/api/v1/logs',
        { records: [{ level: 'info', message: `e${i}` }] },
        { 'x-loam-execution-id': `walk-e${i}`, 'x-loam-session-id': 'walk-session' },
      );

    await eventually(async () => (await ok('GET', imp.links.import)).data.status === 'succeeded', 30_000);
    await eventually(async () => (await ok('GET', `/api/v1/webhooks/${ids.hook0}/deliveries?status=succeeded`)).data.length === N, 30_000);
    await drainEvents(t);
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });

  const diffIds = (body: Json) => [...body.data.added, ...body.data.removed, ...body.data.modified];
  const walks: Walk[] = [
    { route: '/api/v1/admin/tenants', url: () => `/api/v1/admin/tenants?limit=${PAGE}&count=true`, holds: () => true },
    { route: '/api/v1/api-keys', url: () => `/api/v1/api-keys?limit=${PAGE}&count=true`, holds: () => true },
    {
      route: '/api/v1/admin/users',
      url: () => `/api/v1/admin/users?tenant_id=default&limit=${PAGE}`,
      holds: (u) => u.email.startsWith('walk'),
    },
    { route: '/api/v1/admin/policies', url: () => `/api/v1/admin/policies?limit=${PAGE}`, holds: (p) => p.name.startsWith('walk-') },
    {
      route: '/api/v1/admin/audit-logs',
      url: () => `/api/v1/admin/audit-logs?action=dataset.created&sort=-time&limit=${PAGE}`,
      holds: (e) => e.action === 'dataset.created',
    },
    { route: '/api/v1/datasets', url: () => `/api/v1/datasets?tag=walk&limit=${PAGE}`, holds: (d) => d.tags.includes('walk') },
    {
      route: '/api/v1/datasets/:id/versions',
      url: () => `/api/v1/datasets/${ids.ds}/versions?limit=${PAGE}&count=true`,
      holds: () => true,
    },
    {
      route: '/api/v1/datasets/:id/versions/:vid/diff/:vid2',
      url: () => `/api/v1/datasets/${ids.ds}/versions/${ids.v1}/diff/draft?fields=true&limit=${PAGE}`,
      holds: () => true,
      items: diffIds,
    },
    {
      route: '/api/v1/datasets/:id/records',
      url: () =>
        `/api/v1/datasets/${ids.ds}/records?filter=${encodeURIComponent('{"kind":"a"}')}&sort=-score&fields=kind,score&limit=${PAGE}`,
      holds: (r) => r.data.kind === 'a',
    },
    {
      route: '/api/v1/datasets/:id/imports/:sid/errors',
      url: () => `${ids.importErrors}?limit=${PAGE}`,
      holds: (e) => e.code === 'invalid_json',
    },
    { route: '/api/v1/collections', url: () => `/api/v1/collections?limit=${PAGE}`, holds: () => true },
    {
      route: '/api/v1/documents',
      url: () => `/api/v1/documents?collection_id=${ids.kb}&limit=${PAGE}`,
      holds: (d) => d.collection_id === ids.kb,
    },
    {
      route: '/api/v1/sessions/:sid/messages',
      url: () => `/api/v1/sessions/walk:messages/messages?after=2&limit=${PAGE}`,
      holds: (m) => m.position > 2,
    },
    { route: '/api/v1/sessions', url: () => `/api/v1/sessions?prefix=walk:s&limit=${PAGE}`, holds: (s) => s.id.startsWith('walk:s') },
    {
      route: '/api/v1/logs',
      url: () => `/api/v1/logs?execution_id=walk-exec&order=desc&limit=${PAGE}`,
      holds: (l) => l.execution_id === 'walk-exec',
    },
    {
      route: '/api/v1/executions',
      url: () => `/api/v1/executions?session_id=walk-session&limit=${PAGE}`,
      holds: (e) => e.session_id === 'walk-session',
    },
    {
      route: '/api/v1/events',
      url: () => `/api/v1/events?type=dataset.created&limit=${PAGE}`,
      holds: (e) => e.type.endsWith('dataset.created'),
    },
    { route: '/api/v1/webhooks', url: () => `/api/v1/webhooks?limit=${PAGE}`, holds: (w) => w.url.startsWith(rx.url) },
    {
      route: '/api/v1/webhooks/:id/deliveries',
      url: () => `/api/v1/webhooks/${ids.hook0}/deliveries?status=succeeded&limit=${PAGE}`,
      holds: (d) => d.status === 'succeeded',
    },
    {
      route: '/api/v1/analytics/events',
      url: () => `/api/v1/analytics/events?type=walk.score&limit=${PAGE}`,
      holds: (e) => e.type === 'walk.score',
    },
  ];

  it('walks every paginated list of /api/v1 (a new list route must join the walks)', () => {
    const lists = t.app
      .registeredRoutes()
      .filter((r) => r.method === 'GET' && r.url.startsWith('/api/v1/'))
      .filter((r) => {
        const q = r.schema?.querystring as
          | { properties?: Record<string, unknown>; allOf?: { properties?: Record<string, unknown> }[] }
          | undefined;
        const props = [q?.properties, ...(q?.allOf ?? []).map((s) => s.properties)];
        return props.some((p) => p && 'cursor' in p);
      })
      .map((r) => r.url);
    expect([...new Set(lists)].sort()).toEqual(walks.map((w) => w.route).sort());
  });

  const get = async (url: string) => {
    const r = await call('GET', url);
    expect(r.status, `GET ${url}: ${r.body}`).toBe(200);
    return r.json as Json;
  };

  /** The link keeps the path, every parameter of the first page but the cursor, and adds one. */
  const keepsFilters = (link: string, first: string) => {
    const a = new URL(link, 'http://x');
    const b = new URL(first, 'http://x');
    expect(a.pathname).toBe(b.pathname);
    expect(a.searchParams.get('cursor')).toBeTruthy();
    a.searchParams.delete('cursor');
    expect([...a.searchParams].sort()).toEqual([...b.searchParams].sort());
  };

  it('a records query answered to a POST links to the same list as GET URLs', async () => {
    const r = await call('POST', `/api/v1/datasets/${ids.ds}/records/query`, { filter: { kind: 'a' }, sort: '-score', limit: PAGE });
    expect(r.status).toBe(200);
    const first = `/api/v1/datasets/${ids.ds}/records?filter=${encodeURIComponent('{"kind":"a"}')}&sort=-score&limit=${PAGE}`;
    keepsFilters(r.json.links.next, first);
    const second = await get(r.json.links.next);
    expect(second.data.every((x: Json) => x.data.kind === 'a')).toBe(true);
    expect((await get(second.links.prev)).data).toEqual(r.json.data);
  });

  for (const w of walks)
    it(`${w.route}: the same pages forwards and back, the filter on every one`, async () => {
      const itemsOf = w.items ?? ((body: Json) => body.data as unknown[]);
      const first = w.url();
      let body = await get(first);
      expect(body.links.prev).toBeUndefined();
      const forward = [itemsOf(body)];
      while (body.links.next) {
        keepsFilters(body.links.next, first);
        body = await get(body.links.next);
        forward.push(itemsOf(body));
      }
      expect(forward.length, 'at least three pages').toBeGreaterThanOrEqual(3);
      expect(body.pagination.has_more).toBe(false);
      const backward = [itemsOf(body)];
      while (body.links.prev) {
        keepsFilters(body.links.prev, first);
        body = await get(body.links.prev);
        backward.unshift(itemsOf(body));
      }
      expect(backward).toEqual(forward);
      for (const page of forward) expect(page.length).toBeLessThanOrEqual(PAGE);
      // The pages are the whole filtered list, in order, each item once.
      const whole = itemsOf(await get(first.replace(`limit=${PAGE}`, 'limit=1000')));
      expect(forward.flat()).toEqual(whole);
      if (!w.items) for (const item of whole) expect(w.holds(item as Json), JSON.stringify(item)).toBe(true);
      if (!w.items) expect(whole.filter((i) => w.holds(i as Json)).length).toBeGreaterThanOrEqual(N);
    });
});
