import type { SearchHit } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import type { LlmGateway } from '../llm/gateway.js';
import { type KnowledgeService, documentResource } from './service.js';
import type { CollectionRow, DocumentRow, KnowledgeStore } from './store.js';

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

function matchesFilters(d: DocumentRow, filters: Record<string, string | number | boolean> | undefined): boolean {
  if (!filters) return true;
  const own: Record<string, unknown> = { classification: d.classification, owner: d.owner, department: d.department, filename: d.filename };
  return Object.entries(filters).every(([k, v]) => (k in own ? own[k] : d.metadata[k]) === v);
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

  /** The collections (each checked), and the readable documents' ids (undefined: every document). */
  async scope(ctx: RequestContext, collectionIds: string[], filters?: SearchInput['filters']) {
    const ids = [...new Set(collectionIds)];
    const collections: CollectionRow[] = [];
    for (const id of ids) collections.push(await this.knowledge.collectionRow(ctx, id, 'knowledge:read'));
    const docs = await this.store.documentsOf(this.db, ctx.tenantId, ids);
    const readable: DocumentRow[] = [];
    for (const d of docs)
      if (matchesFilters(d, filters) && (await this.platform.access.allows(ctx, 'knowledge:read', documentResource(d)))) readable.push(d);
    const documentIds = readable.length === docs.length ? undefined : readable.map((d) => d.id);
    return { collections, documents: new Map(readable.map((d) => [d.id, d])), documentIds };
  }

  async search(ctx: RequestContext, input: SearchInput): Promise<{ mode: SearchMode; hits: SearchHit[] }> {
    if (input.collectionIds.length === 0) throw notFound('Collection');
    const topK = Math.max(1, Math.min(100, input.topK ?? 10));
    const wanted = input.mode ?? 'hybrid';
    const scope = await this.scope(ctx, input.collectionIds, input.filters);
    const where = { collectionIds: scope.collections.map((c) => c.id), documentIds: scope.documentIds };
    const depth = Math.max(50, topK * 4);
    const keyword = new Map<string, { score: number; snippet: string }>();
    const vector = new Map<string, number>();
    const words = queryWords(input.q);
    if (wanted !== 'vector' && words.length && scope.documents.size) {
      for (const h of await this.store.keywordSearch(this.db, ctx.tenantId, words, where, depth))
        keyword.set(h.id, { score: Number(h.score), snippet: h.snippet });
    }
    const model = scope.collections.find((c) => c.embedding_model)?.embedding_model;
    if (wanted !== 'keyword' && model && scope.documents.size) {
      const [q] = (await this.gateway.embed(ctx, { model, input: [input.q] })).embeddings;
      const scored: [string, number][] = [];
      for (const row of await this.store.embeddings(this.db, ctx.tenantId, where))
        scored.push([row.id, cosine(q, JSON.parse(row.embedding) as number[])]);
      scored.sort((a, b) => b[1] - a[1]);
      for (const [id, s] of scored.slice(0, depth)) vector.set(id, s);
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
    const hits: SearchHit[] = [];
    for (const [id, score] of ranked) {
      const c = chunks.get(id);
      const doc = c && scope.documents.get(c.document_id);
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
