import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect } from '../../test/harness.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies in tests
type Json = any;

/** Every datasets endpoint through the real HTTP app, on SQLite and PostgreSQL. */
describeEachDialect('datasets API', (dialect) => {
  let t: TestLoam;
  let readerKey: string;
  let otherTenantKey: string;

  const call = apiCaller(() => t);
  const events = async (type: string): Promise<Json[]> =>
    (
      await t.loam.platform.database.db
        .selectFrom('outbox_events')
        .selectAll()
        .where('type', '=', `io.loam.${type}`)
        .orderBy('seq')
        .execute()
    ).map((e: Json) => ({ ...e, data: typeof e.data === 'string' ? JSON.parse(e.data) : e.data }));
  const createDataset = async (name: string, extra: Record<string, unknown> = {}) => {
    const r = await call('POST', '/api/v1/datasets', {
      name,
      schema: {
        fields: [
          { name: 'name', type: 'string', required: true },
          { name: 'age', type: 'integer' },
          { name: 'score', type: 'number' },
          { name: 'active', type: 'boolean' },
          { name: 'born', type: 'datetime' },
          { name: 'address', type: 'object' },
          { name: 'tags', type: 'array' },
        ],
      },
      ...extra,
    });
    expect(r.status).toBe(201);
    return r.json.data.id as string;
  };
  const allRecords = async (id: string, query = '') => {
    const out: Json[] = [];
    let url: string | undefined = `/api/v1/datasets/${id}/records?limit=1000${query}`;
    while (url) {
      const r = await call('GET', url);
      expect(r.status).toBe(200);
      out.push(...r.json.data);
      url = r.json.links.next;
    }
    return out;
  };

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false, datasetImportChunkSize: 2 } });
    const reader = await t.loam.services.apiKeys.create('default', { name: 'reader', scopes: ['datasets:read'] });
    readerKey = reader.key;
    await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, 'other', 'Other'));
    const other = await t.loam.services.apiKeys.create('other', { name: 'other', scopes: ['datasets:read', 'datasets:write'] });
    otherTenantKey = other.key;
  });
  afterAll(() => t.close());

  describe('datasets', () => {
    it('creates (201 + Location + envelope), lists with count and cursor links, and refuses a duplicate name', async () => {
      const r = await call('POST', '/api/v1/datasets', {
        name: 'people',
        classification: 'internal',
        tags: ['hr'],
        metadata: { team: 'a' },
      });
      expect(r.status).toBe(201);
      expect(r.headers.location).toBe(`/api/v1/datasets/${r.json.data.id}`);
      expect(r.json).toMatchObject({ status: 'success', data: { name: 'people', record_count: 0, draft_number: 1, tags: ['hr'] } });
      expect(r.json.data.id).toMatch(/^ds_/);
      expect(r.json.links.versions).toBe(`/api/v1/datasets/${r.json.data.id}/versions`);
      expect((await call('POST', '/api/v1/datasets', { name: 'people' })).status).toBe(409);
      await call('POST', '/api/v1/datasets', { name: 'people-2', tags: ['x'] });

      const page1 = await call('GET', '/api/v1/datasets?limit=1&count=true');
      expect(page1.json.pagination).toMatchObject({ has_more: true, page_size: 1, total_count: expect.any(Number) });
      expect(page1.json.pagination.total_count).toBeGreaterThanOrEqual(2);
      const page2 = await call('GET', page1.json.links.next);
      expect(page2.status).toBe(200);
      expect(page2.json.data[0].id).not.toBe(page1.json.data[0].id);
      const tagged = await call('GET', '/api/v1/datasets?tag=hr');
      expect(tagged.json.data.map((d: Json) => d.name)).toEqual(['people']);
      expect(page1.json.pagination).not.toHaveProperty('total_count', undefined);
      expect((await call('GET', '/api/v1/datasets?limit=1')).json.pagination.total_count).toBeUndefined();
      expect((await call('GET', '/api/v1/datasets?cursor=forged.cursor')).status).toBe(400);
    });

    it('GET has an ETag (If-None-Match → 304); PATCH honours If-Match (412) ; archive blocks writes; delete → 204 then 404', async () => {
      const id = await createDataset('etagged');
      const g = await call('GET', `/api/v1/datasets/${id}`);
      expect(g.headers.etag).toBe('"1"');
      expect(g.json.metadata.resource_version).toBe('1');
      expect((await call('GET', `/api/v1/datasets/${id}`, undefined, { 'if-none-match': '"1"' })).status).toBe(304);
      const p = await call('PATCH', `/api/v1/datasets/${id}`, { description: 'x' }, { 'if-match': '"1"' });
      expect(p.status).toBe(200);
      expect(p.json.data).toMatchObject({ description: 'x', resource_version: 2 });
      const stale = await call('PATCH', `/api/v1/datasets/${id}`, { description: 'y' }, { 'if-match': '"1"' });
      expect(stale.status).toBe(412);
      expect(stale.headers['content-type']).toMatch(/problem\+json/);

      expect((await call('POST', `/api/v1/datasets/${id}/archive`, {})).json.data.status).toBe('archived');
      expect((await call('POST', `/api/v1/datasets/${id}/records`, [{ data: { name: 'a' } }])).status).toBe(409);
      expect((await call('GET', `/api/v1/datasets/${id}/records`)).status).toBe(200);
      expect((await call('POST', `/api/v1/datasets/${id}/restore`, {})).json.data.status).toBe('active');
      expect((await call('POST', `/api/v1/datasets/${id}/records`, [{ data: { name: 'a' } }])).status).toBe(201);
      expect((await events('dataset.archived')).some((e) => e.subject === id)).toBe(true);

      expect((await call('DELETE', `/api/v1/datasets/${id}`)).status).toBe(204);
      expect((await call('GET', `/api/v1/datasets/${id}`)).status).toBe(404);
      expect((await events('dataset.deleted')).some((e) => e.subject === id)).toBe(true);
    });

    it('refuses an incompatible schema change with the offending count; a compatible one emits dataset.schema_changed', async () => {
      const id = await createDataset('schema-change');
      await call('POST', `/api/v1/datasets/${id}/records`, [
        { data: { name: 'a', age: 3 } },
        { data: { name: 'b' } },
        { data: { name: 'c' } },
      ]);
      const fields = (await call('GET', `/api/v1/datasets/${id}`)).json.data.schema.fields;
      const requiredAge = fields.map((f: Json) => (f.name === 'age' ? { ...f, required: true } : f));
      const bad = await call('PATCH', `/api/v1/datasets/${id}`, { schema: { fields: requiredAge } });
      expect(bad.status).toBe(409);
      expect(bad.json).toMatchObject({ code: 'schema_incompatible', offending_count: 2 });
      const ageAsString = fields.map((f: Json) => (f.name === 'age' ? { ...f, type: 'string' } : f));
      expect((await call('PATCH', `/api/v1/datasets/${id}`, { schema: { fields: ageAsString } })).json.offending_count).toBe(1);
      const ok = await call('PATCH', `/api/v1/datasets/${id}`, {
        schema: { fields: [...fields, { name: 'email', type: 'string', pii: 'email' }] },
      });
      expect(ok.status).toBe(200);
      const changed = (await events('dataset.schema_changed')).filter((e) => e.subject === id);
      expect(changed).toHaveLength(1);
      expect(changed[0].data).toMatchObject({ added: ['email'], removed: [] });
    });

    it('another tenant gets 404 everywhere; a read-only key gets 403 on writes', async () => {
      const id = await createDataset('isolated');
      const { json } = await call('POST', `/api/v1/datasets/${id}/records`, [{ id: 'r1', data: { name: 'a' } }]);
      expect(json.data.ids).toEqual(['r1']);
      const other = { 'x-api-key': otherTenantKey };
      for (const [method, url] of [
        ['GET', `/api/v1/datasets/${id}`],
        ['GET', `/api/v1/datasets/${id}/records`],
        ['GET', `/api/v1/datasets/${id}/records/r1`],
        ['GET', `/api/v1/datasets/${id}/versions`],
        ['GET', `/api/v1/datasets/${id}/stats`],
        ['GET', `/api/v1/datasets/${id}/lineage`],
        ['DELETE', `/api/v1/datasets/${id}`],
      ]) {
        const r = await t.app.inject({ method: method as 'GET', url, headers: other });
        expect(r.statusCode, `${method} ${url}`).toBe(404);
      }
      const patch = await t.app.inject({
        method: 'PATCH',
        url: `/api/v1/datasets/${id}/records/r1`,
        headers: other,
        payload: { data: { name: 'x' } },
      });
      expect(patch.statusCode).toBe(404);
      const list = await t.app.inject({ method: 'GET', url: '/api/v1/datasets', headers: other });
      expect(list.json().data).toEqual([]);
      const reader = { 'x-api-key': readerKey };
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/datasets/${id}`, headers: reader })).statusCode).toBe(200);
      expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/datasets/${id}`, headers: reader })).statusCode).toBe(403);
      expect((await t.app.inject({ method: 'GET', url: `/api/v1/datasets/${id}` })).statusCode).toBe(401);
    });

    it('reads of confidential datasets are audited with access.read', async () => {
      const id = await createDataset('secret', { classification: 'confidential' });
      const pub = await createDataset('open', { classification: 'public' });
      await call('POST', `/api/v1/datasets/${id}/records`, [{ id: 'r1', data: { name: 'a' } }]);
      await call('POST', `/api/v1/datasets/${pub}/records`, [{ id: 'r1', data: { name: 'a' } }]);
      await call('GET', `/api/v1/datasets/${id}/records/r1`);
      await call('POST', `/api/v1/datasets/${id}/records/query`, { filter: { name: 'a' } });
      await call('GET', `/api/v1/datasets/${pub}/records/r1`);
      const reads = await events('access.read');
      expect(reads.filter((e) => e.subject === id).map((e) => e.data.operation)).toEqual(['records.get', 'records.query']);
      expect(reads.some((e) => e.subject === pub)).toBe(false);
      expect(reads[0].data).toMatchObject({ classification: 'confidential', resource_type: 'Dataset' });
    });
  });

  describe('records', () => {
    let ds: string;
    beforeAll(async () => {
      ds = await createDataset('records');
    });

    it('bulk inserts a JSON array and NDJSON atomically, emitting one record.created per call', async () => {
      const r = await call('POST', `/api/v1/datasets/${ds}/records`, [
        { data: { name: 'Ann', age: 31, address: { city: 'Oslo' } } },
        { id: 'bob', data: { name: 'Bob', age: 25, tags: ['x'] } },
      ]);
      expect(r.status).toBe(201);
      expect(r.json.data.inserted).toBe(2);
      expect(r.json.data.ids[0]).toMatch(/^rec_/);
      expect(r.json.data.ids[1]).toBe('bob');
      const nd = await call(
        'POST',
        `/api/v1/datasets/${ds}/records`,
        '{"id":"cy","data":{"name":"Cy"}}\n\n{"data":{"name":"Di","active":true}}\n',
        {
          'content-type': 'application/x-ndjson',
        },
      );
      expect(nd.status).toBe(201);
      expect(nd.json.data.ids).toHaveLength(2);
      const created = (await events('record.created')).filter((e) => e.data.dataset_id === ds);
      expect(created).toHaveLength(2);
      expect(created[0].data.ids).toEqual(r.json.data.ids);
      expect((await call('GET', `/api/v1/datasets/${ds}`)).json.data.record_count).toBe(4);
    });

    it('refuses a batch with invalid records, naming index and field, and inserts none of it', async () => {
      const before = (await call('GET', `/api/v1/datasets/${ds}`)).json.data.record_count;
      const r = await call('POST', `/api/v1/datasets/${ds}/records`, [
        { data: { name: 'ok' } },
        { data: { age: 'old' } },
        { data: { name: 'x', born: 'yesterday' } },
      ]);
      expect(r.status).toBe(400);
      expect(r.json.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ field: '[1].data.name', code: 'required_field_missing' }),
          expect.objectContaining({ field: '[1].data.age', code: 'invalid_type' }),
          expect.objectContaining({ field: '[2].data.born', code: 'invalid_format' }),
        ]),
      );
      expect((await call('GET', `/api/v1/datasets/${ds}`)).json.data.record_count).toBe(before);
      const dup = await call('POST', `/api/v1/datasets/${ds}/records`, [
        { id: 'new1', data: { name: 'x' } },
        { id: 'bob', data: { name: 'x' } },
      ]);
      expect(dup.status).toBe(409);
      expect(dup.json.errors[0]).toMatchObject({ field: '[1].id', code: 'duplicate' });
      expect((await call('GET', `/api/v1/datasets/${ds}/records/new1`)).status).toBe(404);
      const badNd = await call('POST', `/api/v1/datasets/${ds}/records`, '{"data":{"name":"a"}}\n{oops\n', {
        'content-type': 'application/x-ndjson',
      });
      expect(badNd.status).toBe(400);
      expect(badNd.json.detail).toContain('line 2');
      const tooMany = Array.from({ length: 10_001 }, () => ({ data: { name: 'n' } }));
      expect((await call('POST', `/api/v1/datasets/${ds}/records`, tooMany)).status).toBe(400);
      expect((await call('POST', `/api/v1/datasets/${ds}/records`, [])).status).toBe(400);
    });

    it('honours Idempotency-Key: a retry replays the first response, another body is 422', async () => {
      const body = [{ data: { name: 'Idem' } }];
      const first = await call('POST', `/api/v1/datasets/${ds}/records`, body, { 'idempotency-key': 'k-1' });
      const retry = await call('POST', `/api/v1/datasets/${ds}/records`, body, { 'idempotency-key': 'k-1' });
      expect(retry.status).toBe(201);
      expect(retry.json.data.ids).toEqual(first.json.data.ids);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.headers.location).toBe(first.headers.location);
      const q = await call('POST', `/api/v1/datasets/${ds}/records/query`, { filter: { name: 'Idem' } });
      expect(q.json.data).toHaveLength(1);
      const reused = await call('POST', `/api/v1/datasets/${ds}/records`, [{ data: { name: 'Other' } }], { 'idempotency-key': 'k-1' });
      expect(reused.status).toBe(422);
      expect(reused.json.code).toBe('idempotency_key_reused');
      // Keys are per principal: another caller may use the same key for its own request.
      const reader = await t.app.inject({
        method: 'POST',
        url: `/api/v1/datasets/${ds}/records/export`,
        headers: { 'x-api-key': readerKey, 'idempotency-key': 'k-1', 'content-type': 'application/json' },
        payload: {},
      });
      expect(reader.statusCode).toBe(202);
      // A failed first attempt (4xx) is replayed too, so a retry cannot turn into a different outcome.
      const invalid = await call('POST', `/api/v1/datasets/${ds}/records`, [{ data: {} }], { 'idempotency-key': 'k-2' });
      expect(invalid.status).toBe(400);
      expect((await call('POST', `/api/v1/datasets/${ds}/records`, [{ data: {} }], { 'idempotency-key': 'k-2' })).json).toEqual(
        invalid.json,
      );
    });

    it('answers a concurrent retry of an Idempotency-Key in flight with 409 or the replay, never a second insert', async () => {
      const body = [{ data: { name: 'Concurrent' } }];
      const [a, b] = await Promise.all([
        call('POST', `/api/v1/datasets/${ds}/records`, body, { 'idempotency-key': 'k-race' }),
        call('POST', `/api/v1/datasets/${ds}/records`, body, { 'idempotency-key': 'k-race' }),
      ]);
      expect([a.status, b.status]).toContain(201);
      for (const r of [a, b]) expect([201, 409]).toContain(r.status);
      const q = await call('POST', `/api/v1/datasets/${ds}/records/query`, { filter: { name: 'Concurrent' } });
      expect(q.json.data).toHaveLength(1);
      const bad = await call('POST', `/api/v1/datasets/${ds}/records`, body, { 'idempotency-key': 'has space' });
      expect(bad.status).toBe(400);
    });

    it('GET/PATCH/DELETE one record with ETag and If-Match', async () => {
      const g = await call('GET', `/api/v1/datasets/${ds}/records/bob`);
      expect(g.status).toBe(200);
      expect(g.json.data).toMatchObject({ id: 'bob', data: { name: 'Bob', age: 25, tags: ['x'] }, revision: 1 });
      const etag = g.headers.etag as string;
      expect((await call('GET', `/api/v1/datasets/${ds}/records/bob`, undefined, { 'if-none-match': etag })).status).toBe(304);
      const p = await call('PATCH', `/api/v1/datasets/${ds}/records/bob`, { data: { age: 26, tags: null } }, { 'if-match': etag });
      expect(p.status).toBe(200);
      expect(p.json.data).toMatchObject({ data: { name: 'Bob', age: 26 }, revision: 2 });
      expect(p.json.data.data).not.toHaveProperty('tags');
      expect(p.headers.etag).not.toBe(etag);
      expect((await call('PATCH', `/api/v1/datasets/${ds}/records/bob`, { data: { age: 27 } }, { 'if-match': etag })).status).toBe(412);
      expect((await call('PATCH', `/api/v1/datasets/${ds}/records/bob`, { data: { age: 'x' } })).status).toBe(400);
      expect((await call('DELETE', `/api/v1/datasets/${ds}/records/bob`, undefined, { 'if-match': etag })).status).toBe(412);
      expect((await call('DELETE', `/api/v1/datasets/${ds}/records/bob`, undefined, { 'if-match': p.headers.etag as string })).status).toBe(
        204,
      );
      expect((await call('GET', `/api/v1/datasets/${ds}/records/bob`)).status).toBe(404);
      expect((await call('PATCH', `/api/v1/datasets/${ds}/records/nope`, { data: { age: 1 } })).status).toBe(404);
      expect((await events('record.updated')).some((e) => e.subject === 'bob')).toBe(true);
      expect((await events('record.deleted')).some((e) => e.data.ids?.[0] === 'bob')).toBe(true);
    });

    it('two PATCHes with the same ETag: exactly one 412', async () => {
      await call('POST', `/api/v1/datasets/${ds}/records`, [{ id: 'race', data: { name: 'r', age: 1 } }]);
      for (const finalizeFirst of [false, true]) {
        if (finalizeFirst) await call('POST', `/api/v1/datasets/${ds}/versions`, {});
        const etag = (await call('GET', `/api/v1/datasets/${ds}/records/race`)).headers.etag as string;
        const [a, b] = await Promise.all([
          call('PATCH', `/api/v1/datasets/${ds}/records/race`, { data: { age: 2 } }, { 'if-match': etag }),
          call('PATCH', `/api/v1/datasets/${ds}/records/race`, { data: { age: 3 } }, { 'if-match': etag }),
        ]);
        expect([a.status, b.status].sort()).toEqual([200, 412]);
        const live = await call('GET', `/api/v1/datasets/${ds}/records/race`);
        const winner = a.status === 200 ? a : b;
        expect(live.json.data.data.age).toBe(winner.json.data.data.age);
      }
    });
  });

  describe('queries', () => {
    let ds: string;
    beforeAll(async () => {
      ds = await createDataset('query');
      const rows = Array.from({ length: 25 }, (_, i) => ({
        id: `r${String(i).padStart(2, '0')}`,
        data: {
          name: `n${i % 5}`,
          age: i,
          score: i % 3 === 0 ? null : i / 2,
          active: i % 2 === 0,
          address: { city: i % 4 === 0 ? 'Oslo' : 'Rome', zip: `0${i}` },
          tags: i % 2 ? ['odd', `t${i}`] : ['even'],
        },
      }));
      expect((await call('POST', `/api/v1/datasets/${ds}/records`, rows)).status).toBe(201);
    });

    it('filters with operators on top-level and nested fields, GET and POST alike', async () => {
      const ids = async (filter: unknown) => {
        const post = await call('POST', `/api/v1/datasets/${ds}/records/query`, { filter, limit: 1000 });
        expect(post.status, JSON.stringify(post.json)).toBe(200);
        const get = await call('GET', `/api/v1/datasets/${ds}/records?limit=1000&filter=${encodeURIComponent(JSON.stringify(filter))}`);
        const p = post.json.data.map((r: Json) => r.id);
        expect(get.json.data.map((r: Json) => r.id)).toEqual(p);
        return p;
      };
      expect(await ids({ age: { $gte: 20 } })).toEqual(['r20', 'r21', 'r22', 'r23', 'r24']);
      expect(await ids({ 'address.city': 'Oslo', age: { $lt: 9 } })).toEqual(['r00', 'r04', 'r08']);
      expect(await ids({ $or: [{ age: 1 }, { name: { $in: ['n4'] }, age: { $gt: 15 } }] })).toEqual(['r01', 'r19', 'r24']);
      expect(await ids({ tags: { $contains: 't3' } })).toEqual(['r03']);
      expect(await ids({ 'address.zip': { $startsWith: '02' } })).toEqual(['r02', 'r20', 'r21', 'r22', 'r23', 'r24']);
      expect((await ids({ score: null })).length).toBe(9);
      expect((await ids({ score: { $exists: true } })).length).toBe(25);
      expect((await ids({ nope: { $exists: false } })).length).toBe(25);
      expect((await ids({ $not: { active: true } })).length).toBe(12);
      expect((await ids({ age: { $nin: [1, 2, 3] }, name: { $ne: 'n0' } })).length).toBe(17);
    });

    it('sorts, projects, paginates with signed cursors and counts on request', async () => {
      const page = await call('GET', `/api/v1/datasets/${ds}/records?sort=-age&limit=10&fields=name,address.city&count=true`);
      expect(page.json.data[0]).toMatchObject({ id: 'r24', data: { name: 'n4', address: { city: 'Oslo' } } });
      expect(page.json.data[0].data).not.toHaveProperty('age');
      expect(page.json.pagination).toMatchObject({ has_more: true, page_size: 10, total_count: 25 });
      const all = await allRecords(ds, '&sort=score&limit=7'.replace('&limit=7', ''));
      expect(all).toHaveLength(25);
      const scores = [];
      let url: string | undefined = `/api/v1/datasets/${ds}/records?sort=score&limit=4`;
      while (url) {
        const r = await call('GET', url);
        scores.push(...r.json.data.map((x: Json) => x.data.score));
        url = r.json.links.next;
      }
      expect(scores).toHaveLength(25);
      const numbers = scores.filter((s) => s !== null);
      expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
      expect(scores.slice(numbers.length).every((s) => s === null)).toBe(true);
      const tampered = `${page.json.pagination.cursor}x`;
      expect((await call('GET', `/api/v1/datasets/${ds}/records?sort=-age&cursor=${tampered}`)).status).toBe(400);
      // A cursor is bound to its query.
      expect((await call('GET', `/api/v1/datasets/${ds}/records?sort=age&cursor=${page.json.pagination.cursor}`)).status).toBe(400);
    });

    it('rejects bad filters, field paths and operators with 400', async () => {
      for (const filter of ['{', '{"a":{"$regex":"x"}}', '{"a;drop":1}', '{"a":{"b":1}}', '{"$and":[]}', '{"a":{"$in":"x"}}', '[1]']) {
        const r = await call('GET', `/api/v1/datasets/${ds}/records?filter=${encodeURIComponent(filter)}`);
        expect(r.status, filter).toBe(400);
        expect(r.headers['content-type']).toMatch(/problem\+json/);
      }
      expect((await call('POST', `/api/v1/datasets/${ds}/records/query`, { sort: "name'--" })).status).toBe(400);
      expect((await call('POST', `/api/v1/datasets/${ds}/records/query`, { fields: ['a b'] })).status).toBe(400);
      expect((await call('POST', `/api/v1/datasets/${ds}/records/query`, { version: 'ver_nope' })).status).toBe(404);
    });

    it('creates, lists and drops field indexes; queries keep their results', async () => {
      const before = (await call('POST', `/api/v1/datasets/${ds}/records/query`, { filter: { name: 'n2' } })).json.data;
      const idx = await call('POST', `/api/v1/datasets/${ds}/indexes`, { field: 'name' });
      expect(idx.status).toBe(201);
      expect(idx.headers.location).toContain(idx.json.data.id);
      expect((await call('POST', `/api/v1/datasets/${ds}/indexes`, { field: 'a-b' })).status).toBe(400);
      expect((await call('GET', `/api/v1/datasets/${ds}/indexes`)).json.data.map((i: Json) => i.field)).toEqual(['name']);
      expect((await call('POST', `/api/v1/datasets/${ds}/records/query`, { filter: { name: 'n2' } })).json.data).toEqual(before);
      expect((await call('DELETE', `/api/v1/datasets/${ds}/indexes/${idx.json.data.id}`)).status).toBe(204);
      expect((await call('GET', `/api/v1/datasets/${ds}/indexes`)).json.data).toEqual([]);
    });

    it('computes stats: counts, bytes, nulls, distinct, min/max, top values', async () => {
      const s = await call('GET', `/api/v1/datasets/${ds}/stats`);
      expect(s.status).toBe(200);
      expect(s.json.data.record_count).toBe(25);
      expect(s.json.data.bytes).toBeGreaterThan(25 * 40);
      const field = (n: string) => s.json.data.fields.find((f: Json) => f.name === n);
      expect(field('age')).toMatchObject({ null_count: 0, distinct_estimate: 25, min: 0, max: 24 });
      expect(field('score')).toMatchObject({ null_count: 9, min: 0.5, max: 11.5 });
      expect(field('name').top_values).toHaveLength(5);
      expect(field('name').top_values[0]).toEqual({ value: 'n0', count: 5 });
      expect(field('active').top_values).toEqual([
        { value: true, count: 13 },
        { value: false, count: 12 },
      ]);
      expect(field('born')).toMatchObject({ null_count: 25, min: null, max: null });
    });
  });

  describe('versions', () => {
    it('finalizes immutable versions, reads them without copying, diffs them, and keeps checksums content-addressed', async () => {
      const ds = await createDataset('versions');
      await call('POST', `/api/v1/datasets/${ds}/records`, [
        { id: 'a', data: { name: 'A', age: 1 } },
        { id: 'b', data: { name: 'B', age: 2 } },
        { id: 'c', data: { name: 'C', age: 3 } },
      ]);
      const v1 = await call('POST', `/api/v1/datasets/${ds}/versions`, { name: 'first', description: 'd', tags: ['t'] });
      expect(v1.status).toBe(201);
      expect(v1.headers.location).toBe(`/api/v1/datasets/${ds}/versions/${v1.json.data.id}`);
      expect(v1.json.data).toMatchObject({ number: 1, record_count: 3, status: 'finalized', name: 'first' });
      expect(v1.json.data.checksum).toMatch(/^[0-9a-f]{64}$/);
      const v1Id = v1.json.data.id;
      const snapshot = await allRecords(ds, `&version=${v1Id}`);

      // Change the draft in every way: update, delete, insert.
      expect((await call('PATCH', `/api/v1/datasets/${ds}/records/a`, { data: { age: 10 } })).status).toBe(200);
      expect((await call('PATCH', `/api/v1/datasets/${ds}/records/a`, { data: { age: 11 } })).status).toBe(200);
      expect((await call('DELETE', `/api/v1/datasets/${ds}/records/b`)).status).toBe(204);
      await call('POST', `/api/v1/datasets/${ds}/records`, [{ id: 'd', data: { name: 'D' } }]);
      expect(await allRecords(ds, `&version=${v1Id}`)).toEqual(snapshot);
      expect((await call('GET', `/api/v1/datasets/${ds}/records/b?version=${v1Id}`)).json.data.data).toEqual({ name: 'B', age: 2 });
      expect((await call('GET', `/api/v1/datasets/${ds}/records/a?version=${v1Id}`)).json.data.data.age).toBe(1);
      expect((await allRecords(ds)).map((r) => r.id)).toEqual(['a', 'c', 'd']);

      const v2 = (await call('POST', `/api/v1/datasets/${ds}/versions`, {})).json.data;
      expect(v2).toMatchObject({ number: 2, record_count: 3 });
      expect(await allRecords(ds, `&version=${v1Id}`)).toEqual(snapshot);

      const diff = await call('GET', `/api/v1/datasets/${ds}/versions/${v1Id}/diff/${v2.id}?fields=true`);
      expect(diff.status).toBe(200);
      expect(diff.json.data).toMatchObject({ added: ['d'], removed: ['b'], modified: ['a'] });
      expect(diff.json.data.changes.a).toEqual([{ field: 'age', before: 1, after: 11 }]);
      const paged: string[] = [];
      let url: string | undefined = `/api/v1/datasets/${ds}/versions/${v1Id}/diff/${v2.id}?limit=1`;
      while (url) {
        const r = await call('GET', url);
        expect(r.json.pagination.page_size).toBeLessThanOrEqual(1);
        paged.push(...r.json.data.added, ...r.json.data.removed, ...r.json.data.modified);
        url = r.json.links.next;
      }
      expect(paged).toEqual(['a', 'b', 'd']);
      const reverse = (await call('GET', `/api/v1/datasets/${ds}/versions/${v2.id}/diff/${v1Id}`)).json.data;
      expect(reverse).toMatchObject({ added: ['b'], removed: ['d'], modified: ['a'] });
      expect((await call('GET', `/api/v1/datasets/${ds}/versions/${v2.id}/diff/draft`)).json.data).toMatchObject({
        added: [],
        removed: [],
        modified: [],
      });

      // Equal content, equal checksum; different content, different checksum.
      const v3 = (await call('POST', `/api/v1/datasets/${ds}/versions`, {})).json.data;
      expect(v3.checksum).toBe(v2.checksum);
      expect(v3.checksum).not.toBe(v1.json.data.checksum);
      expect((await events('version.finalized')).filter((e) => e.data.dataset_id === ds)).toHaveLength(3);

      // list, get (ETag), patch (If-Match), deprecate
      const list = await call('GET', `/api/v1/datasets/${ds}/versions?limit=2&count=true`);
      expect(list.json.data.map((v: Json) => v.number)).toEqual([1, 2]);
      expect(list.json.pagination).toMatchObject({ has_more: true, total_count: 3 });
      expect((await call('GET', list.json.links.next)).json.data.map((v: Json) => v.number)).toEqual([3]);
      const got = await call('GET', `/api/v1/datasets/${ds}/versions/${v1Id}`);
      expect(
        (await call('GET', `/api/v1/datasets/${ds}/versions/${v1Id}`, undefined, { 'if-none-match': got.headers.etag as string })).status,
      ).toBe(304);
      const patched = await call(
        'PATCH',
        `/api/v1/datasets/${ds}/versions/${v1Id}`,
        { description: 'new', tags: ['gold'] },
        { 'if-match': got.headers.etag as string },
      );
      expect(patched.json.data).toMatchObject({ description: 'new', tags: ['gold'], checksum: v1.json.data.checksum });
      expect(
        (await call('PATCH', `/api/v1/datasets/${ds}/versions/${v1Id}`, { description: 'x' }, { 'if-match': got.headers.etag as string }))
          .status,
      ).toBe(412);
      expect((await call('POST', `/api/v1/datasets/${ds}/versions/${v1Id}/deprecate`, {})).json.data.status).toBe('deprecated');
      expect(await allRecords(ds, `&version=${v1Id}`)).toEqual(snapshot);

      // A version something derives from cannot be deleted; others can, and their rows go.
      const derived = await call('POST', '/api/v1/datasets', { name: 'derived', derived_from: { dataset_id: ds, version_id: v1Id } });
      expect(derived.status).toBe(201);
      const refused = await call('DELETE', `/api/v1/datasets/${ds}/versions/${v1Id}`);
      expect(refused.status).toBe(409);
      expect(refused.json.detail).toContain(derived.json.data.id);
      expect((await call('DELETE', `/api/v1/datasets/${ds}/versions/${v2.id}`)).status).toBe(204);
      expect((await call('GET', `/api/v1/datasets/${ds}/versions/${v2.id}`)).status).toBe(404);
      expect(await allRecords(ds, `&version=${v1Id}`)).toEqual(snapshot);
      expect((await allRecords(ds, `&version=${v3.id}`)).map((r) => r.id)).toEqual(['a', 'c', 'd']);

      const lineage = (await call('GET', `/api/v1/datasets/${ds}/lineage`)).json.data;
      expect(lineage.nodes.map((n: Json) => n.type)).toEqual(expect.arrayContaining(['dataset', 'version']));
      expect(lineage.edges).toEqual(expect.arrayContaining([{ from: v1Id, to: derived.json.data.id, relation: 'derived' }]));
      const childLineage = (await call('GET', `/api/v1/datasets/${derived.json.data.id}/lineage`)).json.data;
      expect(childLineage.edges).toEqual(expect.arrayContaining([{ from: v1Id, to: derived.json.data.id, relation: 'derived' }]));
    });

    it('lets other modules add lineage (anonymization runs) and then protects the source version', async () => {
      const ds = await createDataset('anon-source');
      // Bodiless POSTs are fine where every field is optional.
      const bare = await t.app.inject({ method: 'POST', url: `/api/v1/datasets/${ds}/versions`, headers: t.admin });
      expect(bare.statusCode, bare.body).toBe(201);
      const v = bare.json().data;
      await t.loam.services.datasets.lineage.recordLineage({
        tenantId: 'default',
        datasetId: ds,
        nodes: [{ id: 'anr_1', type: 'anonymization_run', label: 'mask emails', attributes: { operators: 1 } }],
        edges: [{ from: v.id, to: 'anr_1', relation: 'anonymized' }],
      });
      await expect(
        t.loam.services.datasets.lineage.recordLineage({ tenantId: 'other', datasetId: ds, nodes: [{ id: 'x', type: 'x', label: 'x' }] }),
      ).rejects.toThrow(/not found/);
      const g = (await call('GET', `/api/v1/datasets/${ds}/lineage`)).json.data;
      expect(g.nodes).toEqual(expect.arrayContaining([expect.objectContaining({ id: 'anr_1', type: 'anonymization_run' })]));
      expect((await call('DELETE', `/api/v1/datasets/${ds}/versions/${v.id}`)).status).toBe(409);
    });
  });

  describe('export and import', () => {
    it('exports ndjson, csv and json as jobs with a download', async () => {
      const ds = await createDataset('export');
      await call('POST', `/api/v1/datasets/${ds}/records`, [
        { id: 'a', data: { name: 'A, "quoted"', age: 1, address: { city: 'X' } } },
        { id: 'b', data: { name: 'B', age: 2 } },
        { id: 'c', data: { name: 'C', age: 3 } },
      ]);
      const v1 = (await call('POST', `/api/v1/datasets/${ds}/versions`, {})).json.data.id;
      await call('DELETE', `/api/v1/datasets/${ds}/records/c`);
      const run = async (body: Json) => {
        const r = await call('POST', `/api/v1/datasets/${ds}/records/export`, body);
        expect(r.status).toBe(202);
        expect(r.json.data).toMatchObject({ kind: 'datasets.export', status: 'queued' });
        expect(r.headers.location).toBe(`/api/v1/jobs/${r.json.data.id}`);
        await t.loam.platform.jobs.drain();
        const job = await call('GET', `/api/v1/jobs/${r.json.data.id}`);
        expect(job.json.data.status).toBe('succeeded');
        const exp = await call('GET', r.json.links.export);
        expect(exp.json.data).toMatchObject({ status: 'succeeded', download_url: expect.any(String) });
        const file = await call('GET', exp.json.links.download);
        expect(file.status).toBe(200);
        return { exp: exp.json.data, text: file.body };
      };
      const nd = await run({ format: 'ndjson' });
      // The pre-signed URL serves the same file without credentials (local blob store).
      const signed = new URL(nd.exp.download_url);
      const viaUrl = await t.app.inject({ method: 'GET', url: `${signed.pathname}${signed.search}` });
      expect(viaUrl.statusCode).toBe(200);
      expect(viaUrl.body).toBe(nd.text);
      expect(
        nd.text
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      ).toEqual([
        { id: 'a', name: 'A, "quoted"', age: 1, address: { city: 'X' } },
        { id: 'b', name: 'B', age: 2 },
      ]);
      expect(nd.exp).toMatchObject({ record_count: 2, format: 'ndjson' });
      const old = await run({ format: 'json', version: v1, filter: { age: { $gte: 2 } } });
      expect(JSON.parse(old.text)).toEqual([
        { id: 'b', name: 'B', age: 2 },
        { id: 'c', name: 'C', age: 3 },
      ]);
      const csv = await run({ format: 'csv' });
      const lines = csv.text.trim().split('\n');
      expect(lines[0]).toBe('id,name,age,score,active,born,address,tags');
      expect(lines[1]).toBe('a,"A, ""quoted""",1,,,,"{""city"":""X""}",');
      expect((await events('record.exported')).filter((e) => e.data.dataset_id === ds)).toHaveLength(3);
      expect((await call('POST', `/api/v1/datasets/${ds}/records/export`, { filter: { $bad: 1 } })).status).toBe(400);
      const lineage = (await call('GET', `/api/v1/datasets/${ds}/lineage`)).json.data;
      expect(lineage.nodes.filter((n: Json) => n.type === 'export')).toHaveLength(3);
      expect(
        (await t.app.inject({ method: 'GET', url: `/api/v1/exports/${nd.exp.id}`, headers: { 'x-api-key': otherTenantKey } })).statusCode,
      ).toBe(404);
    });

    it('imports NDJSON with progress and a per-line error report', async () => {
      const ds = await createDataset('import-nd');
      await call('POST', `/api/v1/datasets/${ds}/records`, [{ id: 'taken', data: { name: 'T' } }]);
      const file = [
        '{"id":"i1","name":"One","age":1}',
        '{"name":"Two","age":"two"}',
        'not json',
        '',
        '{"id":"taken","name":"Dup"}',
        '{"name":"Five","tags":["a"]}',
      ].join('\n');
      const r = await call('POST', `/api/v1/datasets/${ds}/records/import`, file, { 'content-type': 'application/x-ndjson' });
      expect(r.status).toBe(202);
      expect(r.json.data.kind).toBe('datasets.import');
      const queued = await call('GET', r.json.links.import);
      expect(queued.json.data).toMatchObject({ status: 'queued', total: 5, processed: 0, failed: 0 });
      await t.loam.platform.jobs.drain();
      const done = await call('GET', r.json.links.import);
      expect(done.json.data).toMatchObject({ status: 'succeeded', total: 5, processed: 5, failed: 3 });
      const errors = await call('GET', `${r.json.links.import}/errors`);
      expect(errors.json.data.map((e: Json) => [e.line, e.code, e.field])).toEqual([
        [2, 'invalid_type', 'age'],
        [3, 'invalid_json', null],
        [5, 'duplicate', 'id'],
      ]);
      const page = await call('GET', `${r.json.links.import}/errors?limit=1`);
      expect((await call('GET', page.json.links.next)).json.data[0].line).toBe(3);
      const names = (await allRecords(ds)).map((x) => x.data.name).sort();
      expect(names).toEqual(['Five', 'One', 'T']);
      expect((await call('GET', `/api/v1/datasets/${ds}/records/i1`)).json.data.data).toEqual({ name: 'One', age: 1 });
      // Chunks of 2 lines: one record.created per chunk that inserted something.
      expect((await events('record.created')).filter((e) => e.data.import_id).length).toBeGreaterThanOrEqual(2);
    });

    it('imports CSV with a header, typed by the schema, and resumes after a crash without duplicates', async () => {
      const ds = await createDataset('import-csv');
      const rows = [
        'id,name,age,active,address',
        'c1,Ann,31,true,"{""city"":""Oslo""}"',
        'c2,"Bob, Jr.",x,false,',
        'c3,"multi',
        'line",7,,',
      ];
      for (let i = 4; i <= 9; i++) rows.push(`c${i},P${i},${i},true,`);
      const r = await call('POST', `/api/v1/datasets/${ds}/records/import`, rows.join('\r\n'), { 'content-type': 'text/csv' });
      expect(r.status).toBe(202);
      const importId = r.json.links.import.split('/').pop();
      // Crash after the first chunk: it is committed with its offset; the rerun continues from there.
      const { DatasetTransfers } = await import('./transfers.js');
      const runner = new DatasetTransfers(t.loam.platform, t.loam.services.datasets);
      await runner.runImport(importId, { maxChunks: 1 });
      const mid = await call('GET', r.json.links.import);
      expect(mid.json.data).toMatchObject({ status: 'running', processed: 2, failed: 1 });
      await t.loam.platform.jobs.drain();
      const done = await call('GET', r.json.links.import);
      expect(done.json.data).toMatchObject({ status: 'succeeded', total: 9, processed: 9, failed: 1 });
      const all = await allRecords(ds);
      expect(all.map((x) => x.id)).toEqual(['c1', 'c3', 'c4', 'c5', 'c6', 'c7', 'c8', 'c9']);
      expect(all[0].data).toEqual({ name: 'Ann', age: 31, active: true, address: { city: 'Oslo' } });
      expect(all[1].data).toEqual({ name: 'multi\r\nline', age: 7 });
      expect((await call('GET', `/api/v1/datasets/${ds}`)).json.data.record_count).toBe(8);
      expect((await call('POST', `/api/v1/datasets/${ds}/records/import`, 'a,b\n1,2', { 'content-type': 'text/plain' })).status).toBe(415);
      expect((await call('POST', `/api/v1/datasets/${ds}/records/import`, { blob_key: 'other/x', format: 'csv' })).status).toBe(404);
      // An object the tenant uploaded before can be imported by its key.
      await t.loam.platform.blob.put('default/uploads/more.ndjson', Buffer.from('{"id":"b1","name":"Blob"}\n'), 'application/x-ndjson');
      const fromBlob = await call('POST', `/api/v1/datasets/${ds}/records/import`, {
        blob_key: 'default/uploads/more.ndjson',
        format: 'ndjson',
      });
      expect(fromBlob.status).toBe(202);
      await t.loam.platform.jobs.drain();
      expect((await call('GET', `/api/v1/datasets/${ds}/records/b1`)).json.data.data).toEqual({ name: 'Blob' });
      expect((await call('POST', `/api/v1/datasets/${ds}/records`, 'a,b\n1,2', { 'content-type': 'text/csv' })).status).toBe(415);
    });
  });
});

describe('datasets: migrations apply on a fresh SQLite database', () => {
  it('has its tables', async () => {
    const t = await createTestLoam({ http: false });
    const names = await t.loam.platform.database.db.introspection.getTables();
    expect(names.map((n) => n.name)).toEqual(
      expect.arrayContaining(['datasets', 'dataset_records', 'dataset_versions', 'idempotency_keys']),
    );
    await t.close();
  });
});
