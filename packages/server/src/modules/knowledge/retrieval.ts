import type { SearchHit } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { badRequest, notFound } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import type { LlmGateway } from '../llm/gateway.js';
import { type KnowledgeService, accessTupleResource } from './service.js';
import type { AccessTuple, ChunkScope, CollectionRow, KnowledgeStore } from './store.js';

export type SearchMode = 'hybrid' | 'keyword' | 'vector';

export interface SearchInput {
  q: string;
  collectionIds: string[];
  topK?: number;
  mode?: SearchMode;
  /** Equality on document metadata (and `classification`, `owner`, `department`, `filename`). */
  filters?: Record<string, string | number | boolean>;
}

export interface RetrievedChunk extends SearchHit {}

/** Reciprocal rank fusion's constant (Cormack et al.): 60. */
export const RRF_K = 60;
const MAX_QUERY_WORDS = 32;

const STOPWORDS = new Set(
  'a an and are as at be by for from has have how i in is it its of on or that the this to was were what when where which who why will with do does did you your can'.split(
    ' ',
  ),
);

/** The query's search words: lowercase, stopwords dropped (unless nothing else is left), deduplicated. */
export function queryWords(q: string): string[] {
  const all = [...new Set((q.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []).filter((w) => w.length < 64))];
  const content = all.filter((w) => !STOPWORDS.has(w));
  return (content.length ? content : all).slice(0, MAX_QUERY_WORDS);
}

/** Reciprocal rank fusion of ranked id lists: Σ 1 / (k + rank). */
export function reciprocalRankFusion(lists: string[][], k = RRF_K): Map<string, number> {
  const scores = new Map<string, number>();
  for (const list of lists) for (const [i, id] of list.entries()) scores.set(id, (scores.get(id) ?? 0) + 1 / (k + i + 1));
  return scores;
}

export function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na && nb ? dot / Math.sqrt(na * nb) : 0;
}

const FILTER_KEY = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_FILTERS = 20;

/** Filter keys name one metadata field (letters, digits, `_`, `-`); at most 20 filters. */
function checkFilters(filters: SearchInput['filters']): void {
  const keys = Object.keys(filters ?? {});
  if (keys.length > MAX_FILTERS) throw badRequest(`At most ${MAX_FILTERS} filters`);
  const bad = keys.find((k) => !FILTER_KEY.test(k));
  if (bad !== undefined)
    throw badRequest('A filter key is a metadata field name: 1 to 64 letters, digits, _ or -', [
      { field: `filters.${bad.slice(0, 64)}`, code: 'invalid_key', message: 'not a metadata field name' },
    ]);
}

/**
 * Hybrid retrieval: BM25 full text and exact cosine similarity over the chunks of the documents
 * the caller may read (the access check and the metadata filters decide the candidate set before
 * anything is ranked), fused by reciprocal rank fusion.
 */
export class Retrieval {
  constructor(
    private readonly platform: Platform,
    private readonly store: KnowledgeStore,
    private readonly knowledge: KnowledgeService,
    private readonly gateway: LlmGateway,
  ) {}

  private get db() {
    return this.platform.database.db;
  }

  /** The caller's collections, each checked for `knowledge:read` (404 / 403 before anything runs). */
  async collections(ctx: RequestContext, collectionIds: string[]): Promise<CollectionRow[]> {
    if (collectionIds.length === 0) throw notFound('Collection');
    const collections: CollectionRow[] = [];
    for (const id of new Set(collectionIds)) collections.push(await this.knowledge.collectionRow(ctx, id, 'knowledge:read'));
    return collections;
  }

  /**
   * What the caller may search, set-based: the access check runs once per distinct access tuple
   * (collection, classification, owner, department) of the collections' indexed documents, not
   * once per document; the allowed tuples become one SQL condition applied before ranking.
   */
  async scope(ctx: RequestContext, collections: CollectionRow[], filters?: SearchInput['filters']): Promise<ChunkScope> {
    const collectionIds = collections.map((c) => c.id);
    const tuples = await this.store.accessTuples(this.db, ctx.tenantId, collectionIds);
    const allowed: AccessTuple[] = [];
    for (const t of tuples)
      if (await this.platform.access.allows(ctx, 'knowledge:read', accessTupleResource(ctx.tenantId, t))) allowed.push(t);
    return { collectionIds, allowed: allowed.length === tuples.length ? undefined : allowed, filters };
  }

  /**
   * The `limit` chunks of `scope` most similar to `q`: by the database's vector index (sqlite-vec,
   * exact KNN in C), else exact cosine over every embedded chunk of the scope, O(n·d).
   */
  private async nearest(tenantId: string, q: number[], scope: ChunkScope, limit: number): Promise<[string, number][]> {
    if (this.store.vectorIndex)
      return (await this.store.nearestChunks(this.db, tenantId, q, scope, limit)).map((h) => [h.id, h.similarity]);
    const scored: [string, number][] = [];
    for (const row of await this.store.embeddings(this.db, tenantId, scope))
      scored.push([row.id, cosine(q, JSON.parse(row.embedding) as number[])]);
    return scored.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit);
  }

  async search(ctx: RequestContext, input: SearchInput): Promise<{ mode: SearchMode; hits: SearchHit[] }> {
    return this.searchIn(ctx, await this.collections(ctx, input.collectionIds), input);
  }

  /** `search` over collections already checked by `collections()`. */
  async searchIn(ctx: RequestContext, collections: CollectionRow[], input: SearchInput): Promise<{ mode: SearchMode; hits: SearchHit[] }> {
    checkFilters(input.filters);
    const topK = Math.max(1, Math.min(100, input.topK ?? 10));
    const wanted = input.mode ?? 'hybrid';
    const scope = await this.scope(ctx, collections, input.filters);
    const empty = scope.allowed?.length === 0;
    const model = collections.find((c) => c.embedding_model)?.embedding_model;
    const useVectors = wanted !== 'keyword' && !!model && !empty;
    // Fusion needs both lists deeper than top k; a single list is cut at top k in SQL.
    const depth = useVectors && wanted === 'hybrid' ? Math.max(50, topK * 4) : topK;
    const keyword = new Map<string, { score: number; snippet: string }>();
    const vector = new Map<string, number>();
    const words = queryWords(input.q);
    if (wanted !== 'vector' && words.length && !empty) {
      for (const h of await this.store.keywordSearch(this.db, ctx.tenantId, words, scope, depth))
        keyword.set(h.id, { score: Number(h.score), snippet: h.snippet });
    }
    if (useVectors && model) {
      const [q] = (await this.gateway.embed(ctx, { model, input: [input.q] })).embeddings;
      for (const [id, s] of await this.nearest(ctx.tenantId, q, scope, depth)) vector.set(id, s);
    }
    const used: SearchMode = keyword.size && vector.size ? 'hybrid' : vector.size ? 'vector' : wanted === 'hybrid' ? 'keyword' : wanted;
    const fused = reciprocalRankFusion([[...keyword.keys()], [...vector.keys()]].filter((l) => l.length));
    const ranked = [...fused.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, topK);
    const chunks = new Map(
      (
        await this.store.chunksByIds(
          this.db,
          ctx.tenantId,
          ranked.map(([id]) => id),
        )
      ).map((c) => [c.id, c]),
    );
    const documents = new Map(
      (await this.store.documentsByIds(this.db, ctx.tenantId, [...new Set([...chunks.values()].map((c) => c.document_id))])).map((d) => [
        d.id,
        d,
      ]),
    );
    const hits: SearchHit[] = [];
    for (const [id, score] of ranked) {
      const c = chunks.get(id);
      const doc = c && documents.get(c.document_id);
      if (!c || !doc) continue;
      const k = keyword.get(id);
      const v = vector.get(id);
      hits.push({
        chunk_id: id,
        document_id: c.document_id,
        collection_id: c.collection_id,
        filename: doc.filename,
        position: c.position,
        heading_path: c.heading_path,
        page: c.page,
        text: c.text,
        score,
        scores: { ...(k ? { keyword: k.score } : {}), ...(v !== undefined ? { vector: v } : {}) },
        highlights: k?.snippet ? [k.snippet] : [],
      });
    }
    return { mode: used, hits };
  }
}
