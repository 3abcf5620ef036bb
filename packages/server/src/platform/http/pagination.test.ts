import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { drainEvents } from '../../test/principals.js';

type Json = Record<string, any>;

describeEachDialect('pagination: links.self, links.next and links.prev', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  const names: string[] = [];

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    for (let i = 0; i < 7; i++) {
      const r = await call('POST', '/api/v1/datasets', { name: `page-${i}`, tags: ['paged'], schema: { fields: [] } });
      expect(r.status).toBe(201);
      names.push(`page-${i}`);
    }
    expect((await call('POST', '/api/v1/datasets', { name: 'unpaged', schema: { fields: [] } })).status).toBe(201);
  });
  afterAll(() => t.close());

  const get = async (url: string) => {
    const r = await call('GET', url);
    expect(r.status, r.body).toBe(200);
    return r.json as Json;
  };
  const page = (body: Json) => body.data.map((d: Json) => d.name);

  it('walks forwards with links.next and back with links.prev, keeping the filters', async () => {
    const first = await get('/api/v1/datasets?tag=paged&limit=3');
    expect(page(first)).toEqual(names.slice(0, 3));
    expect(first.links.self).toBe('/api/v1/datasets');
    expect(first.links.prev).toBeUndefined();
    const second = await get(first.links.next);
    expect(page(second)).toEqual(names.slice(3, 6));
    expect(second.links.prev).toMatch(/^\/api\/v1\/datasets\?.*tag=paged/);
    const third = await get(second.links.next);
    expect(page(third)).toEqual(names.slice(6));
    expect(third.links.next).toBeUndefined();
    expect(third.pagination.has_more).toBe(false);

    const back = await get(third.links.prev);
    expect(page(back)).toEqual(names.slice(3, 6));
    expect(back.pagination.has_more).toBe(true);
    const start = await get(back.links.prev);
    expect(page(start)).toEqual(names.slice(0, 3));
    expect(start.links.prev).toBeUndefined(); // nothing before the first page
    expect(page(await get(start.links.next))).toEqual(names.slice(3, 6));
  });

  it('lists newest first walk back the same way, and a tampered prev cursor is a 400', async () => {
    await drainEvents(t);
    const first = await get('/api/v1/admin/audit-logs?sort=-time&limit=2');
    const second = await get(first.links.next);
    expect(second.data[0].id < first.data[1].id).toBe(true); // newest first
    expect((await get(second.links.prev)).data).toEqual(first.data);
    const cursor = new URL(second.links.prev, 'http://x').searchParams.get('cursor') as string;
    const bad = await call('GET', `/api/v1/datasets?cursor=${cursor.slice(0, -2)}xx`);
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
    // A cursor of one list does not work on another.
    expect((await call('GET', `/api/v1/datasets?cursor=${encodeURIComponent(cursor)}`)).status).toBe(400);
  });
});
