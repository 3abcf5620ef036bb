import { type Expression, type Selectable, type SqlBool, sql } from 'kysely';
import type { Signer } from '../../platform/crypto/index.js';
import type { FullTextHit, FullTextSpec, VectorHit, VectorSpec } from '../../platform/db/dialect/index.js';
import { type Executor, type SqlDialect, fromJson, toJson } from '../../platform/db/index.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { KbChunksTable, KbCollectionsTable, KbDocumentsTable, KbQueriesTable } from './tables.js';

export const CHUNKS_VECTORS: VectorSpec = { table: 'kb_chunks', key: 'id', vecTable: 'kb_chunks_vec' };
export const CHUNKS_FULL_TEXT: FullTextSpec = { table: 'kb_chunks', key: 'id', ftsTable: 'kb_chunks_fts', stemmed: true };

/**
 * A query word found in more than `share` of the indexed chunks, and in more than `min` of them,
 * is too common to search by (see `searchWords`).
 */
export interface CommonWords {
  share: number;
  min: number;
}
export const COMMON_WORDS: CommonWords = { share: 0.1, min: 1000 };
/**
 * The share of the index's chunks a search's collections must hold for ranking before filtering
 * (measured on 100,000 chunks: at a tenth, ranking first was cheaper at the median, dearer at p95).
 */
const MOST_OF_INDEX = 0.25;
/** How long a chunk count and a word's document frequency are reused (they change slowly). */
const FREQUENCY_TTL_MS = 60_000;
const FREQUENCY_ENTRIES = 50_000;

export type CollectionRow = Omit<Selectable<KbCollectionsTable>, 'metadata'> & { metadata: Record<string, unknown> };
export type DocumentRow = Omit<Selectable<KbDocumentsTable>, 'metadata' | 'text'> & { metadata: Record<string, unknown> };
export type ChunkRow = Omit<Selectable<KbChunksTable>, 'heading_path' | 'embedding' | 'fts_rowid' | 'vec_rowid' | 'vec_dims'> & {
  heading_path: string[];
};
export type NewChunk = Omit<ChunkRow, 'tenant_id' | 'collection_id' | 'document_id'>;

/** The attributes the access check decides a document's readability on. */
export interface AccessTuple {
  collection_id: string;
  classification: string;
  owner: string;
  department: string;
}

/**
 * The chunks a search may rank: of indexed documents of `collectionIds` whose access tuple is
 * one of `allowed` (undefined: every tuple) and which match `filters` (equality on the document's
 * columns `classification`, `owner`, `department`, `filename`, else on its metadata).
 */
export interface ChunkScope {
  collectionIds: string[];
  allowed?: AccessTuple[];
  filters?: Record<string, string | number | boolean>;
}

const DOCUMENT_COLUMNS_FILTERABLE = new Set(['classification', 'owner', 'department', 'filename']);

/** A filter value and its other spelling (2024 / "2024", true / "true"): JSON bodies and query strings differ in what they coerce. */
function spellings(v: string | number | boolean): (string | number | boolean)[] {
  if (typeof v !== 'string') return [v, String(v)];
  const out: (string | number | boolean)[] = [v];
  if (v.trim() !== '' && Number.isFinite(Number(v))) out.push(Number(v));
  if (v === 'true' || v === 'false') out.push(v === 'true');
  return out;
}

const DOC_COLUMNS = [
  'id',
  'tenant_id',
  'collection_id',
  'filename',
  'content_type',
  'size',
  'status',
  'error',
  'blob_key',
  'content_id',
  'markdown',
  'chunk_count',
  'metadata',
  'classification',
  'owner',
  'department',
  'created_at',
  'updated_at',
] as const;

const toCollection = (r: Selectable<KbCollectionsTable>): CollectionRow => ({
  ...r,
  metadata: fromJson<Record<string, unknown>>(r.metadata) ?? {},
});
const toDocument = (r: Omit<Selectable<KbDocumentsTable>, 'text'>): DocumentRow => ({
  ...r,
  size: r.size === null ? null : Number(r.size),
  metadata: fromJson<Record<string, unknown>>(r.metadata) ?? {},
});
const toChunk = (r: Omit<Selectable<KbChunksTable>, 'embedding' | 'fts_rowid' | 'vec_rowid' | 'vec_dims'>): ChunkRow => ({
  ...r,
  heading_path: fromJson<string[]>(r.heading_path) ?? [],
});

/** The only file with SQL on the knowledge tables. */
export class KnowledgeStore {
  private readonly frequencies = new Map<string, { n: number; at: number }>();

  constructor(
    private readonly dialect: SqlDialect,
    private readonly common: CommonWords = COMMON_WORDS,
    private readonly now: () => number = Date.now,
  ) {}

  // ---------------------------------------------------------------- collections

  async insertCollection(db: Executor, row: CollectionRow): Promise<void> {
    await db
      .insertInto('kb_collections')
      .values({ ...row, metadata: toJson(row.metadata) })
      .execute();
  }

  async collection(db: Executor, tenantId: string, id: string): Promise<CollectionRow | undefined> {
    const r = await db.selectFrom('kb_collections').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r && toCollection(r);
  }

  async collections(db: Executor, tenantId: string, ids: string[]): Promise<CollectionRow[]> {
    if (ids.length === 0) return [];
    const rows = await db.selectFrom('kb_collections').selectAll().where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    return rows.map(toCollection);
  }

  async listCollections(db: Executor, tenantId: string, page: PageRequest, signer: Signer) {
    const q = db.selectFrom('kb_collections').selectAll().where('tenant_id', '=', tenantId);
    const r = await pageById(q, page, signer, `kb_collections:${tenantId}`);
    return { items: r.items.map(toCollection), pagination: r.pagination };
  }

  async updateCollection(db: Executor, tenantId: string, id: string, set: Partial<CollectionRow>): Promise<void> {
    const { metadata, ...rest } = set;
    await db
      .updateTable('kb_collections')
      .set({ ...rest, ...(metadata ? { metadata: toJson(metadata) } : {}) })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }

  async deleteCollection(db: Executor, tenantId: string, id: string): Promise<void> {
    const docs = await db
      .selectFrom('kb_documents')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('collection_id', '=', id)
      .execute();
    for (const d of docs) await this.deleteDocument(db, tenantId, d.id);
    await db.deleteFrom('kb_collections').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  async documentCounts(db: Executor, tenantId: string, ids: string[]): Promise<Map<string, number>> {
    if (ids.length === 0) return new Map();
    const rows = await db
      .selectFrom('kb_documents')
      .select(['collection_id', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('tenant_id', '=', tenantId)
      .where('collection_id', 'in', ids)
      .groupBy('collection_id')
      .execute();
    return new Map(rows.map((r) => [r.collection_id, Number(r.n)]));
  }

  // ---------------------------------------------------------------- documents

  async insertDocument(db: Executor, row: DocumentRow & { text?: string | null }): Promise<void> {
    await db
      .insertInto('kb_documents')
      .values({ ...row, text: row.text ?? null, metadata: toJson(row.metadata) })
      .execute();
  }

  async document(db: Executor, tenantId: string, id: string): Promise<DocumentRow | undefined> {
    const r = await db
      .selectFrom('kb_documents')
      .select(DOC_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return r && toDocument(r);
  }

  async documentByKey(db: Executor, tenantId: string, key: string): Promise<DocumentRow | undefined> {
    const r = await db
      .selectFrom('kb_documents')
      .select(DOC_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('blob_key', '=', key)
      .executeTakeFirst();
    return r && toDocument(r);
  }

  async documentText(db: Executor, tenantId: string, id: string): Promise<string | null> {
    const r = await db.selectFrom('kb_documents').select('text').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return r?.text ?? null;
  }

  async listDocuments(
    db: Executor,
    tenantId: string,
    filter: { collectionId?: string; status?: string },
    page: PageRequest,
    signer: Signer,
  ) {
    let q = db.selectFrom('kb_documents').select(DOC_COLUMNS).where('tenant_id', '=', tenantId);
    if (filter.collectionId) q = q.where('collection_id', '=', filter.collectionId);
    if (filter.status) q = q.where('status', '=', filter.status);
    const r = await pageById(q, page, signer, `kb_documents:${tenantId}:${filter.collectionId ?? ''}:${filter.status ?? ''}`);
    return { items: r.items.map(toDocument), pagination: r.pagination };
  }

  /** The distinct access tuples of the indexed documents of the collections (one access check each). */
  async accessTuples(db: Executor, tenantId: string, collectionIds: string[]): Promise<AccessTuple[]> {
    return db
      .selectFrom('kb_documents')
      .select(['collection_id', 'classification', 'owner', 'department'])
      .distinct()
      .where('tenant_id', '=', tenantId)
      .where('collection_id', 'in', collectionIds)
      .where('status', '=', 'indexed')
      .execute();
  }

  async documentsByIds(db: Executor, tenantId: string, ids: string[]): Promise<DocumentRow[]> {
    if (ids.length === 0) return [];
    const rows = await db.selectFrom('kb_documents').select(DOC_COLUMNS).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
    return rows.map(toDocument);
  }

  async documentsOfAnyStatus(db: Executor, tenantId: string, collectionId: string): Promise<DocumentRow[]> {
    const rows = await db
      .selectFrom('kb_documents')
      .select(DOC_COLUMNS)
      .where('tenant_id', '=', tenantId)
      .where('collection_id', '=', collectionId)
      .execute();
    return rows.map(toDocument);
  }

  async setDocument(
    db: Executor,
    tenantId: string,
    id: string,
    set: Partial<Pick<KbDocumentsTable, 'status' | 'error' | 'size' | 'text' | 'markdown' | 'chunk_count' | 'updated_at'>>,
    onlyFrom?: string[],
  ): Promise<boolean> {
    let q = db.updateTable('kb_documents').set(set).where('tenant_id', '=', tenantId).where('id', '=', id);
    if (onlyFrom) q = q.where('status', 'in', onlyFrom);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async deleteDocument(db: Executor, tenantId: string, id: string): Promise<void> {
    await this.deleteChunks(db, tenantId, id);
    await db.deleteFrom('kb_documents').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  // ---------------------------------------------------------------- chunks

  async deleteChunks(db: Executor, tenantId: string, documentId: string): Promise<void> {
    const ids = await db
      .selectFrom('kb_chunks')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('document_id', '=', documentId)
      .execute();
    for (const { id } of ids) {
      await this.dialect.removeFullText(db, CHUNKS_FULL_TEXT, id);
      await this.dialect.removeVector(db, CHUNKS_VECTORS, id);
    }
    await db.deleteFrom('kb_chunks').where('tenant_id', '=', tenantId).where('document_id', '=', documentId).execute();
  }

  async insertChunks(db: Executor, doc: { tenant_id: string; collection_id: string; id: string }, chunks: NewChunk[]): Promise<void> {
    for (let i = 0; i < chunks.length; i += 200) {
      await db
        .insertInto('kb_chunks')
        .values(
          chunks.slice(i, i + 200).map((c) => ({
            ...c,
            tenant_id: doc.tenant_id,
            collection_id: doc.collection_id,
            document_id: doc.id,
            heading_path: toJson(c.heading_path),
            embedding: null,
            fts_rowid: null,
            vec_rowid: null,
            vec_dims: null,
          })),
        )
        .execute();
    }
  }

  async chunksOf(db: Executor, tenantId: string, documentId: string): Promise<ChunkRow[]> {
    const rows = await db
      .selectFrom('kb_chunks')
      .select(['id', 'tenant_id', 'collection_id', 'document_id', 'position', 'heading_path', 'page', 'tokens', 'text'])
      .where('tenant_id', '=', tenantId)
      .where('document_id', '=', documentId)
      .orderBy('position')
      .execute();
    return rows.map(toChunk);
  }

  async chunksByIds(db: Executor, tenantId: string, ids: string[]): Promise<ChunkRow[]> {
    if (ids.length === 0) return [];
    const rows = await db
      .selectFrom('kb_chunks')
      .select(['id', 'tenant_id', 'collection_id', 'document_id', 'position', 'heading_path', 'page', 'tokens', 'text'])
      .where('tenant_id', '=', tenantId)
      .where('id', 'in', ids)
      .execute();
    return rows.map(toChunk);
  }

  async setEmbedding(db: Executor, id: string, vector: number[]): Promise<void> {
    await db
      .updateTable('kb_chunks')
      .set({ embedding: JSON.stringify(vector) })
      .where('id', '=', id)
      .execute();
    await this.dialect.putVector(db, CHUNKS_VECTORS, id, vector);
  }

  /** The database's nearest-neighbour index (sqlite-vec), if any: without it `embeddings` are ranked exactly. */
  get vectorIndex(): string | undefined {
    return this.dialect.vectorIndex;
  }

  /** The `limit` chunks of `scope` nearest to `vector` (cosine), by the vector index: the scope applies before ranking. */
  async nearestChunks(db: Executor, tenantId: string, vector: number[], scope: ChunkScope, limit: number): Promise<VectorHit[]> {
    return this.dialect.searchVectors(db, CHUNKS_VECTORS, vector, limit, this.inScope(tenantId, scope));
  }

  async indexChunk(db: Executor, tenantId: string, id: string, text: string): Promise<void> {
    await this.dialect.putFullText(db, CHUNKS_FULL_TEXT, tenantId, id, text);
  }

  /**
   * The condition on a chunk (aliased `t`) of being in `scope`: one set-based predicate, so the
   * database applies it to each candidate before ranking (no list of document ids is built).
   */
  private inScope(tenantId: string, scope: ChunkScope): Expression<SqlBool> {
    const doc = [sql`d.id = t.document_id`, sql`d.tenant_id = ${tenantId}`, sql`d.status = 'indexed'`];
    if (scope.allowed) {
      const tuples = scope.allowed.map((a) => sql`(${a.collection_id}, ${a.classification}, ${a.owner}, ${a.department})`);
      doc.push(
        tuples.length ? sql`(d.collection_id, d.classification, d.owner, d.department) in (values ${sql.join(tuples)})` : sql`1 = 0`,
      );
    }
    for (const [key, value] of Object.entries(scope.filters ?? {})) {
      if (!DOCUMENT_COLUMNS_FILTERABLE.has(key)) doc.push(this.dialect.json('d.metadata').anyOf([key], spellings(value)));
      else doc.push(sql`${sql.ref(`d.${key}`)} = ${String(value)}`);
    }
    return sql<SqlBool>`t.tenant_id = ${tenantId} and t.collection_id in (${sql.join(scope.collectionIds)})
      and exists (select 1 from kb_documents d where ${sql.join(doc, sql` and `)})`;
  }

  /** A cached count (chunks, or chunks holding a word), recounted after FREQUENCY_TTL_MS. */
  private async cached(key: string, count: () => Promise<number>): Promise<number> {
    const hit = this.frequencies.get(key);
    if (hit && this.now() - hit.at < FREQUENCY_TTL_MS) return hit.n;
    if (this.frequencies.size >= FREQUENCY_ENTRIES) this.frequencies.clear();
    const n = await count();
    this.frequencies.set(key, { n, at: this.now() });
    return n;
  }

  /** Chunks of every tenant (cached), or of the tenant's `collectionIds`. */
  private chunkCount(db: Executor, tenantId?: string, collectionIds: string[] = []): Promise<number> {
    return this.cached(tenantId === undefined ? '' : `scope:${tenantId}:${[...collectionIds].sort().join(',')}`, async () => {
      let q = db.selectFrom('kb_chunks').select((eb) => eb.fn.countAll<number | string>().as('n'));
      if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId).where('collection_id', 'in', collectionIds);
      return Number((await q.executeTakeFirst())?.n ?? 0);
    });
  }

  /**
   * Whether most full-text matches are likely in `scope`: no access restriction or filter, and its
   * collections hold at least MOST_OF_INDEX of the index's chunks (every tenant's). Then the
   * database ranks first and filters the best matches only (see FullTextOptions.mostMatchesKept).
   */
  private async scopeIsMostOfIndex(db: Executor, tenantId: string, scope: ChunkScope): Promise<boolean> {
    if (scope.allowed || Object.keys(scope.filters ?? {}).length) return false;
    const total = await this.chunkCount(db);
    return total > 0 && (await this.chunkCount(db, tenantId, scope.collectionIds)) >= total * MOST_OF_INDEX;
  }

  /**
   * The words worth searching by: a word in more than `common.share` of all indexed chunks (and
   * in more than `common.min`) is dropped when a rarer word remains, as BM25 engines drop stop
   * words. Its IDF is at most ln 9 ≈ 2.2 (none past half the chunks), yet ranking every chunk it
   * matches is most of a query's cost. Counts cover the whole index (every tenant), as the IDF
   * does, and are reused for a minute.
   */
  async searchWords(db: Executor, words: string[]): Promise<string[]> {
    if (words.length < 2) return words;
    const total = await this.chunkCount(db);
    const cap = Math.max(this.common.min, Math.floor(total * this.common.share));
    if (total <= cap) return words;
    const kept: string[] = [];
    for (const w of words) {
      const n = await this.cached(`${cap}:${w}`, () => this.dialect.countFullTextMatches(db, CHUNKS_FULL_TEXT, w, cap + 1));
      if (n > 0 && n <= cap) kept.push(w); // a word in no chunk (or a stop word of the engine's) adds nothing
    }
    return kept.length ? kept : words;
  }

  /**
   * Chunks matching any of `words`, best first (BM25 / ts_rank, `limit` in SQL), among the chunks
   * of `scope` only: the scope (collections, readable documents, filters) applies before ranking.
   */
  async keywordSearch(db: Executor, tenantId: string, words: string[], scope: ChunkScope, limit: number): Promise<FullTextHit[]> {
    return this.dialect.searchFullText(db, CHUNKS_FULL_TEXT, tenantId, await this.searchWords(db, words), limit, {
      anyWord: true,
      restrict: this.inScope(tenantId, scope),
      mostMatchesKept: await this.scopeIsMostOfIndex(db, tenantId, scope),
    });
  }

  /** Embeddings of the chunks of `scope` (exact vector search reads them all). */
  async embeddings(db: Executor, tenantId: string, scope: ChunkScope): Promise<{ id: string; embedding: string }[]> {
    const q = db
      .selectFrom('kb_chunks as t')
      .select(['t.id', 't.embedding'])
      .where('t.embedding', 'is not', null)
      .where(this.inScope(tenantId, scope));
    return (await q.execute()) as { id: string; embedding: string }[];
  }

  // ---------------------------------------------------------------- queries

  async recordQuery(
    db: Executor,
    row: Omit<Selectable<KbQueriesTable>, 'collection_ids' | 'chunk_ids'> & { collection_ids: string[]; chunk_ids: string[] },
  ) {
    await db
      .insertInto('kb_queries')
      .values({ ...row, collection_ids: toJson(row.collection_ids), chunk_ids: toJson(row.chunk_ids) })
      .execute();
  }

  async queries(db: Executor, tenantId: string, limit: number) {
    const rows = await db
      .selectFrom('kb_queries')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .orderBy('created_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({ ...r, collection_ids: fromJson<string[]>(r.collection_ids), chunk_ids: fromJson<string[]>(r.chunk_ids) }));
  }
}
