import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { keyHeaders } from '../../test/principals.js';
import { chunkText } from './chunker.js';
import { reciprocalRankFusion } from './retrieval.js';
import { GUIDE, createCollection, uploadDocument } from './test/helpers.js';

describe('knowledge: chunking and fusion', () => {
  it('keeps the heading path, never spans sections, and overlaps long sections', () => {
    const chunks = chunkText(GUIDE, { chunkTokens: 64, overlapTokens: 8, markdown: true });
    expect(chunks.map((c) => c.headingPath)).toEqual([
      ['Lighthouse guide'],
      ['Lighthouse guide', 'Lamps'],
      ['Lighthouse guide', 'Fog signals'],
    ]);
    expect(chunks[1].text).toMatch(/^Lamps\n\nThe keeper trims/);
    expect(chunks.every((c) => c.page === null)).toBe(true);

    const long = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ');
    const cut = chunkText(long, { chunkTokens: 100, overlapTokens: 10, markdown: false });
    expect(cut.length).toBe(4);
    expect(cut.every((c) => c.tokens <= 100)).toBe(true);
    // The next window starts 10 tokens before the previous one ended.
    expect(cut[1].text.startsWith('w90 ')).toBe(true);
  });

  it('keeps paragraphs whole when they fit and numbers pages at form feeds', () => {
    const text = 'First page paragraph one.\n\nFirst page paragraph two.\fSecond page text.';
    const chunks = chunkText(text, { chunkTokens: 8, overlapTokens: 0, markdown: false });
    expect(chunks.map((c) => [c.text, c.page])).toEqual([
      ['First page paragraph one.', 1],
      ['First page paragraph two.', 1],
      ['Second page text.', 2],
    ]);
  });

  it('fuses ranked lists by reciprocal rank', () => {
    const fused = reciprocalRankFusion([
      ['a', 'b', 'c'],
      ['c', 'a'],
    ]);
    const order = [...fused.entries()].sort((x, y) => y[1] - x[1]).map(([id]) => id);
    expect(order).toEqual(['a', 'c', 'b']);
    expect(fused.get('a')).toBeCloseTo(1 / 61 + 1 / 62);
  });
});

describeEachDialect('knowledge: collections, the upload workflow, search and access', (dialect) => {
  let t: TestLoam;
  let admin: Record<string, string>;

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    admin = t.admin;
  }, 60_000);
  afterAll(() => t?.close());

  it('collections: create, get, patch, list, delete; bad settings are 400', async () => {
    const c = await createCollection(t, admin, { name: 'handbook', chunking: { chunk_tokens: 128 }, metadata: { team: 'ops' } });
    const got = await t.app.inject({ method: 'GET', url: `/api/v1/collections/${c.id}`, headers: admin });
    expect(got.json().data).toMatchObject({
      name: 'handbook',
      chunking: { chunk_tokens: 128, overlap_tokens: 32 },
      embedding_model: null,
      document_count: 0,
    });
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/api/v1/collections/${c.id}`,
      headers: admin,
      payload: { name: 'manual' },
    });
    expect(patched.json().data.name).toBe('manual');
    const bad = await t.app.inject({
      method: 'POST',
      url: '/api/v1/collections',
      headers: admin,
      payload: { name: 'x', chunking: { chunk_tokens: 32, overlap_tokens: 40 } },
    });
    expect(bad.statusCode).toBe(400);
    const list = await t.app.inject({ method: 'GET', url: '/api/v1/collections', headers: admin });
    expect(list.json().data.map((x: { id: string }) => x.id)).toContain(c.id);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/collections/${c.id}`, headers: admin })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/collections/${c.id}`, headers: admin })).statusCode).toBe(404);
  });

  it('the upload flow over HTTP (presign, PUT, complete) reaches indexed; search ranks with highlights', async () => {
    const c = await createCollection(t, admin);
    const doc = await uploadDocument(t, admin, c.id, { filename: 'guide.md', contentType: 'text/markdown', body: GUIDE });
    expect(doc).toMatchObject({ status: 'indexed', chunk_count: 3, error: null });

    const res = await t.app.inject({ method: 'GET', url: `/api/v1/search?q=foghorn%20fog&collection_ids=${c.id}&top_k=2`, headers: admin });
    expect(res.statusCode).toBe(200);
    const { mode, hits } = res.json().data;
    expect(mode).toBe('keyword');
    expect(hits[0]).toMatchObject({
      document_id: doc.id,
      filename: 'guide.md',
      heading_path: ['Lighthouse guide', 'Fog signals'],
      position: 2,
    });
    expect(hits[0].highlights[0]).toMatch(/\[(foghorn|fog)\]/i);
    expect(hits[0].score).toBeGreaterThan(0);

    const post = await t.app.inject({
      method: 'POST',
      url: '/api/v1/search',
      headers: admin,
      payload: { q: 'lamp wick', collection_ids: [c.id], top_k: 1 },
    });
    expect(post.json().data.hits.map((h: { heading_path: string[] }) => h.heading_path.at(-1))).toEqual(['Lamps']);

    const list = await t.app.inject({ method: 'GET', url: `/api/v1/documents?collection_id=${c.id}&status=indexed`, headers: admin });
    expect(list.json().data.map((d: { id: string }) => d.id)).toEqual([doc.id]);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/documents/${doc.id}`, headers: admin })).statusCode).toBe(204);
    const after = await t.app.inject({ method: 'GET', url: `/api/v1/search?q=foghorn&collection_ids=${c.id}`, headers: admin });
    expect(after.json().data.hits).toEqual([]);
  });

  it('complete before the PUT is 409; an unreadable file fails with the reason; multipart uploads', async () => {
    const c = await createCollection(t, admin);
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/documents',
      headers: admin,
      payload: { collection_id: c.id, filename: 'a.pdf', content_type: 'application/pdf' },
    });
    expect(created.statusCode).toBe(201);
    const id = created.json().data.id;
    expect((await t.app.inject({ method: 'POST', url: `/api/v1/documents/${id}/complete`, headers: admin })).statusCode).toBe(409);

    const boundary = '----loamtest';
    const form = (name: string, type: string, body: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="collection_id"\r\n\r\n${c.id}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: ${type}\r\n\r\n${body}\r\n--${boundary}--\r\n`;
    const upload = (name: string, type: string, body: string) =>
      t.app.inject({
        method: 'POST',
        url: '/api/v1/documents',
        headers: { ...admin, 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: form(name, type, body),
      });
    const broken = await upload('broken.pdf', 'application/pdf', 'not a pdf at all');
    expect(broken.statusCode).toBe(202);
    const good = await upload('notes.txt', 'text/plain', 'Harbour pilots board ships at the breakwater.');
    await t.loam.platform.jobs.drain();
    const brokenDoc = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${broken.json().data.id}`, headers: admin });
    expect(brokenDoc.json().data).toMatchObject({ status: 'failed', error: expect.stringMatching(/^extract failed: /) });
    const goodDoc = await t.app.inject({ method: 'GET', url: `/api/v1/documents/${good.json().data.id}`, headers: admin });
    expect(goodDoc.json().data).toMatchObject({ status: 'indexed', chunk_count: 1 });
  });

  it('content items processed by the ingest pipeline can be added to a collection', async () => {
    const c = await createCollection(t, admin);
    const ingested = await t.app.inject({
      method: 'POST',
      url: '/ingest/text',
      headers: admin,
      payload: { content: 'Tide tables list the high water times of the northern harbour.' },
    });
    expect(ingested.statusCode).toBe(202);
    await t.loam.platform.jobs.drain();
    const added = await t.app.inject({
      method: 'POST',
      url: `/api/v1/collections/${c.id}/content`,
      headers: admin,
      payload: { content_id: ingested.json().id },
    });
    expect(added.statusCode).toBe(202);
    await t.loam.platform.jobs.drain();
    const hits = await t.app.inject({ method: 'GET', url: `/api/v1/search?q=tide&collection_ids=${c.id}`, headers: admin });
    expect(hits.json().data.hits[0]).toMatchObject({ document_id: added.json().data.id });
  });

  it('a forbidden document never appears in search, not even by displacing others from the top k', async () => {
    const tenant = `kb-cedar-${dialect}`;
    const boss = await keyHeaders(t, tenant, { roles: ['admin'] });
    const reader = await keyHeaders(t, tenant, { scopes: ['knowledge:read'] });
    const c = await createCollection(t, boss);
    const secret = await uploadDocument(t, boss, c.id, {
      filename: 'secret.txt',
      contentType: 'text/plain',
      body: 'Zebra zebra zebra: the zebra crossing plan.',
      metadata: { classification: 'secret' },
    });
    const open = await uploadDocument(t, boss, c.id, {
      filename: 'open.txt',
      contentType: 'text/plain',
      body: 'A zebra was seen near the harbour.',
    });
    expect([secret.status, open.status]).toEqual(['indexed', 'indexed']);
    const before = await t.app.inject({ method: 'GET', url: `/api/v1/search?q=zebra&collection_ids=${c.id}&top_k=1`, headers: reader });
    expect(before.json().data.hits[0].document_id).toBe(secret.id);

    for (const policy of [
      'permit(principal, action, resource);',
      'forbid(principal, action == Loam::Action::"read", resource is Loam::Document) when { resource.classification == "secret" };',
    ]) {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/v1/admin/policies',
        headers: boss,
        payload: { name: policy.slice(0, 30), policy },
      });
      expect(r.statusCode, r.body).toBe(201);
    }
    const after = await t.app.inject({ method: 'GET', url: `/api/v1/search?q=zebra&collection_ids=${c.id}&top_k=1`, headers: reader });
    expect(after.json().data.hits.map((h: { document_id: string }) => h.document_id)).toEqual([open.id]);
    const q = await t.app.inject({
      method: 'POST',
      url: '/api/v1/query',
      headers: { ...reader, accept: 'application/json' },
      payload: { question: 'zebra crossing plan', collection_ids: [c.id] },
    });
    expect(q.statusCode).toBe(200);
    expect(q.json().data.sources.map((s: { document_id: string }) => s.document_id)).toEqual([open.id]);
    expect((await t.app.inject({ method: 'GET', url: `/api/v1/documents/${secret.id}`, headers: reader })).statusCode).toBe(403);
    // Metadata filters narrow the candidates in SQL too: by a document column and by metadata.
    await uploadDocument(t, boss, c.id, {
      filename: 'tagged.txt',
      contentType: 'text/plain',
      body: 'A zebra painted on the wall.',
      metadata: { team: 'ops', year: 2024 },
    });
    const filtered = async (filters: Record<string, unknown>, headers = reader) => {
      const r = await t.app.inject({
        method: 'POST',
        url: '/api/v1/search',
        headers,
        payload: { q: 'zebra', collection_ids: [c.id], filters },
      });
      expect(r.statusCode, r.body).toBe(200);
      return r
        .json()
        .data.hits.map((h: { filename: string }) => h.filename)
        .sort();
    };
    expect(await filtered({})).toEqual(['open.txt', 'tagged.txt']);
    expect(await filtered({ team: 'ops' })).toEqual(['tagged.txt']);
    expect(await filtered({ year: 2024 })).toEqual(['tagged.txt']);
    expect(await filtered({ year: '2024' })).toEqual(['tagged.txt']); // a number or its spelling
    expect(await filtered({ year: 2023 })).toEqual([]);
    expect(await filtered({ filename: 'open.txt' })).toEqual(['open.txt']);
    expect(await filtered({ classification: 'secret' })).toEqual([]);
    // The forbid applies to every principal: filters never widen what the access check allows.
    expect(await filtered({ department: '' }, boss)).toEqual(['open.txt', 'tagged.txt']);
    const badKey = await t.app.inject({
      method: 'POST',
      url: '/api/v1/search',
      headers: reader,
      payload: { q: 'zebra', collection_ids: [c.id], filters: { "a') or 1=1 --": 'x' } },
    });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().errors[0]).toMatchObject({ code: 'invalid_key' });
  });

  // Last in this block: it stops the job queue.
  it('with the job queue stopped, uploads that need the workflow answer 503 and change nothing', async () => {
    const c = await createCollection(t, admin);
    const pending = await uploadDocument(t, admin, c.id, { filename: 'a.txt', contentType: 'text/plain', body: 'hello' }, { drain: false });
    await t.loam.platform.jobs.stop(1000);
    const reindex = await t.app.inject({ method: 'POST', url: `/api/v1/documents/${pending.id}/reindex`, headers: admin });
    expect(reindex.statusCode).toBe(503);
    expect(reindex.headers['content-type']).toMatch(/problem\+json/);
    expect(reindex.headers['retry-after']).toBe('5');
    expect(reindex.json()).toMatchObject({ code: 'jobs_unavailable' });
    const boundary = 'b0undary';
    const multipart = await t.app.inject({
      method: 'POST',
      url: '/api/v1/documents',
      headers: { ...admin, 'content-type': `multipart/form-data; boundary=${boundary}` },
      payload: `--${boundary}\r\nContent-Disposition: form-data; name="collection_id"\r\n\r\n${c.id}\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="b.txt"\r\nContent-Type: text/plain\r\n\r\nhi\r\n--${boundary}--\r\n`,
    });
    expect(multipart.statusCode).toBe(503);
    const list = await t.app.inject({ method: 'GET', url: `/api/v1/documents?collection_id=${c.id}`, headers: admin });
    expect(list.json().data.map((d: { id: string; status: string }) => [d.id, d.status])).toEqual([[pending.id, 'uploaded']]);
  });
});

describeEachDialect('knowledge: the workflow survives a crash between steps', (dialect) => {
  it('a restarted process resumes at the step that had not run', async () => {
    const first = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    let second: TestLoam | undefined;
    try {
      const c = await createCollection(first, first.admin);
      const doc = await uploadDocument(
        first,
        first.admin,
        c.id,
        { filename: 'guide.md', contentType: 'text/markdown', body: GUIDE },
        { drain: false },
      );
      // Only the extract step runs; then the process goes away.
      expect(await first.loam.platform.jobs.drain(1)).toBe(1);
      await first.stop();
      second = await createTestLoam({
        dialect,
        dataDir: first.dataDir,
        databaseUrl: first.databaseUrl,
        config: { rateLimitEnabled: false },
      });
      const mid = await second.app.inject({ method: 'GET', url: `/api/v1/documents/${doc.id}`, headers: second.admin });
      expect(mid.json().data.status).toBe('processing');
      expect(await second.loam.platform.jobs.drain()).toBe(3); // chunk, embed, index
      const end = await second.app.inject({ method: 'GET', url: `/api/v1/documents/${doc.id}`, headers: second.admin });
      expect(end.json().data).toMatchObject({ status: 'indexed', chunk_count: 3 });
    } finally {
      await second?.stop();
      await first.close();
    }
  }, 60_000);
});
