import { type SqlBool, sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { cosine } from './retrieval.js';
import { CHUNKS_FULL_TEXT, type ChunkScope, KnowledgeStore } from './store.js';
import { createCollection, uploadDocument } from './test/helpers.js';

describeEachDialect('knowledge: stemming, very common words and the vector index', (dialect) => {
  let t: TestLoam;
  let collection: string;
  const db = () => t.loam.platform.database.db;
  const dialectOf = () => t.loam.platform.database.dialect;

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    collection = (await createCollection(t, t.admin, { name: 'harbour' })).id;
    const docs = [
      ['lamps.txt', 'The keeper trimmed the lamps at dusk.'],
      ['foghorn.txt', 'The keeper sounded the foghorn in the fog.'],
      ['boats.txt', 'The keeper counted the boats in the harbour.'],
      ['nets.txt', 'The keeper mended the fishing nets.'],
    ];
    for (const [filename, body] of docs) await uploadDocument(t, t.admin, collection, { filename, contentType: 'text/plain', body });
  }, 60_000);
  afterAll(() => t?.close());

  const search = async (q: string) => {
    const r = await t.app.inject({
      method: 'GET',
      url: `/api/v1/search?q=${encodeURIComponent(q)}&collection_ids=${collection}`,
      headers: t.admin,
    });
    expect(r.statusCode, r.body).toBe(200);
    return (r.json().data.hits as { filename: string }[]).map((h) => h.filename).sort();
  };

  it('matches words by their stem: "lamp" finds "lamps", "mending" finds "mended"', async () => {
    expect(await search('lamp')).toEqual(['lamps.txt']);
    expect(await search('mending')).toEqual(['nets.txt']);
    expect(await search('counting boat')).toEqual(['boats.txt']);
  });

  it('drops a query word found in too many chunks when a rarer one remains, never the only one', async () => {
    // Thresholds low enough for four chunks: a word in more than half of them (and more than one) is too common.
    const store = new KnowledgeStore(dialectOf(), { share: 0.5, min: 1 });
    const scope: ChunkScope = { collectionIds: [collection] };
    expect(await store.searchWords(db(), ['keeper', 'foghorn'])).toEqual(['foghorn']);
    expect(await store.searchWords(db(), ['keeper'])).toEqual(['keeper']);
    expect(await store.searchWords(db(), ['keeper', 'trimmed'])).toEqual(['trimmed']);
    const ids = async (s: KnowledgeStore) => (await s.keywordSearch(db(), 'default', ['keeper', 'foghorn'], scope, 10)).length;
    expect(await ids(store)).toBe(1);
    // With the defaults (more than 1,000 chunks), four chunks hold no word too common: every match ranks.
    expect(await ids(new KnowledgeStore(dialectOf()))).toBe(4);
    // Every word too common: searched by all of them, not by none.
    expect(await store.searchWords(db(), ['keeper', 'the'])).toEqual(['keeper', 'the']);
  });

  it('ranking every match before filtering returns what filtering first does: the best rows kept, of the tenant only', async () => {
    const foghorn = await db()
      .selectFrom('kb_chunks as c')
      .innerJoin('kb_documents as d', 'd.id', 'c.document_id')
      .select('c.id')
      .where('d.filename', '=', 'foghorn.txt')
      .executeTakeFirstOrThrow();
    // The best match (the only chunk with "foghorn") is not in the scope.
    const restrict = sql<SqlBool>`t.collection_id = ${collection}
      and exists (select 1 from kb_documents d where d.id = t.document_id and d.filename <> 'foghorn.txt')`;
    const search = (mostMatchesKept: boolean, tenant = 'default') =>
      dialectOf().searchFullText(db(), CHUNKS_FULL_TEXT, tenant, ['foghorn', 'lamps', 'keeper'], 2, {
        anyWord: true,
        restrict,
        mostMatchesKept,
      });
    const filteredFirst = await search(false);
    expect(filteredFirst.map((h) => h.id)).not.toContain(foghorn.id);
    expect(filteredFirst).toHaveLength(2);
    expect(filteredFirst[0].snippet).toContain('[lamps]');
    expect(await search(true)).toEqual(filteredFirst);
    expect(await search(true, 'other-tenant')).toEqual([]);
  });

  it('nearest chunks by the vector index are those of exact cosine ranking, within the scope only', async () => {
    const store = new KnowledgeStore(dialectOf());
    if (dialect === 'postgres') {
      expect(store.vectorIndex).toBeUndefined(); // pgvector is not installed here: exact search
      return;
    }
    expect(store.vectorIndex).toMatch(/^sqlite-vec v0\.1/);
    const rows = await db()
      .selectFrom('kb_chunks as c')
      .innerJoin('kb_documents as d', 'd.id', 'c.document_id')
      .select(['c.id', 'd.filename', 'd.collection_id', 'd.classification', 'd.owner', 'd.department'])
      .where('c.collection_id', '=', collection)
      .execute();
    // Deterministic, distinct vectors of 8 dimensions.
    const vectorOf = (i: number) => Array.from({ length: 8 }, (_, j) => Math.sin((i + 1) * (j + 2)) + (j === i ? 2 : 0));
    await t.loam.platform.transaction(async (tx) => {
      for (const [i, r] of rows.entries()) await store.setEmbedding(tx, r.id, vectorOf(i));
    });
    const q = vectorOf(1).map((x, j) => x + (j % 2 ? 0.3 : -0.2));
    const exact = async (scope: ChunkScope) =>
      (await store.embeddings(db(), 'default', scope))
        .map((e) => [e.id, cosine(q, JSON.parse(e.embedding) as number[])] as const)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3);
    const everything: ChunkScope = { collectionIds: [collection] };
    const indexed = await store.nearestChunks(db(), 'default', q, everything, 3);
    const expected = await exact(everything);
    expect(indexed.map((h) => h.id)).toEqual(expected.map(([id]) => id));
    for (const [i, h] of indexed.entries()) expect(h.similarity).toBeCloseTo(expected[i][1], 5);

    // An access scope without the nearest chunk's document (its classification is not allowed):
    // it is left out before ranking, so the top 3 still holds 3 chunks, of the other documents.
    const nearest = rows.find((r) => r.id === expected[0][0]);
    const other = rows.find((r) => r !== nearest);
    if (!nearest || !other) throw new Error('no chunks');
    await db().updateTable('kb_documents').set({ classification: 'secret' }).where('filename', '=', nearest.filename).execute();
    const { collection_id, classification, owner, department } = other;
    const readable: ChunkScope = { collectionIds: [collection], allowed: [{ collection_id, classification, owner, department }] };
    const narrowed = await store.nearestChunks(db(), 'default', q, readable, 3);
    expect(narrowed.map((h) => h.id)).toEqual((await exact(readable)).map(([id]) => id));
    expect(narrowed.map((h) => h.id)).not.toContain(nearest.id);
    expect(narrowed.length).toBe(3);
    expect(await store.nearestChunks(db(), 'other-tenant', q, everything, 3)).toEqual([]);

    // Deleting a document's chunks removes their vectors.
    const doc = await db().selectFrom('kb_chunks').select('document_id').where('id', '=', expected[0][0]).executeTakeFirstOrThrow();
    await t.loam.platform.transaction((tx) => store.deleteChunks(tx, 'default', doc.document_id));
    expect((await store.nearestChunks(db(), 'default', q, everything, 3)).map((h) => h.id)).not.toContain(expected[0][0]);

    // A tenant's erasure deletes rows in bulk, by tenant id, which the vec0 table does not hold:
    // purging the search indexes then deletes every vector no row points at.
    const vectors = async () => Number((await sql<{ n: number }>`select count(*) as n from kb_chunks_vec_8`.execute(db())).rows[0].n);
    expect(await vectors()).toBeGreaterThan(0);
    await db().deleteFrom('kb_chunks').where('tenant_id', '=', 'default').execute();
    await dialectOf().purgeSearchIndexes(db());
    expect(await vectors()).toBe(0);
  });
});
