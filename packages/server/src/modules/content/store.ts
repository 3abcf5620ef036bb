import type { FullTextSpec } from '../../platform/db/dialect/index.js';
import { type Executor, fromJson, type SqlDialect } from '../../platform/db/index.js';

export interface ContentRow {
  id: string;
  tenant_id: string;
  user_id: string;
  source_type: 'TEXT' | 'URL' | 'FILE';
  source_uri: string;
  s3_key: string | null;
  status: 'UPLOADING' | 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'ERROR';
  content_type: string;
  size: number;
  metadata: Record<string, string>;
  title: string | null;
  word_count: number | null;
  language: string | null;
  page_count: number | null;
  detected_type: string | null;
  error: string | null;
  source_sub_type: string | null;
  user_notes: string | null;
  callback_url: string | null;
  created_at: number;
  updated_at: number;
  processed_at: number | null;
}

// biome-ignore lint/suspicious/noExplicitAny: a raw content_items row
export function toContentRow(row: any): ContentRow {
  return {
    ...row,
    size: Number(row.size),
    metadata: fromJson<Record<string, string>>(row.metadata) ?? {},
    word_count: row.word_count == null ? null : Number(row.word_count),
    page_count: row.page_count == null ? null : Number(row.page_count),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
    processed_at: row.processed_at == null ? null : Number(row.processed_at),
  };
}

export interface SearchHit {
  id: string;
  title: string | null;
  snippet: string;
  score: number;
}

/** The full-text index over content_texts (SQLite: the FTS5 table content_fts). */
export const CONTENT_FULL_TEXT: FullTextSpec = { table: 'content_texts', key: 'item_id', ftsTable: 'content_fts' };

/** Content SQL that differs per dialect: the text store and its full-text index. Tenant-scoped. */
export class ContentStore {
  constructor(private readonly dialect: SqlDialect) {}

  async get(db: Executor, tenantId: string, id: string): Promise<ContentRow | undefined> {
    const row = await db.selectFrom('content_items').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row ? toContentRow(row) : undefined;
  }

  async count(db: Executor, tenantId: string): Promise<number> {
    const row = await db
      .selectFrom('content_items')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async text(db: Executor, tenantId: string, id: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('content_texts')
      .select('text')
      .where('tenant_id', '=', tenantId)
      .where('item_id', '=', id)
      .executeTakeFirst();
    return row?.text;
  }

  async putText(db: Executor, tenantId: string, id: string, text: string, now: number): Promise<void> {
    await db
      .insertInto('content_texts')
      .values({ item_id: id, tenant_id: tenantId, text, updated_at: now })
      .onConflict((oc) => oc.column('item_id').doUpdateSet({ text, updated_at: now }))
      .execute();
  }

  /** (Re)indexes the item's searchable text; the content_texts row must exist. */
  async index(db: Executor, tenantId: string, id: string, searchable: string): Promise<void> {
    await this.dialect.putFullText(db, CONTENT_FULL_TEXT, tenantId, id, searchable);
  }

  /** Removes the item's index entry (PostgreSQL's goes with its content_texts row). */
  async unindex(db: Executor, id: string): Promise<void> {
    await this.dialect.removeFullText(db, CONTENT_FULL_TEXT, id);
  }

  /** Deletes the item with its text and index entry. */
  async delete(db: Executor, tenantId: string, id: string): Promise<void> {
    await this.unindex(db, id);
    await db.deleteFrom('content_texts').where('item_id', '=', id).where('tenant_id', '=', tenantId).execute();
    await db.deleteFrom('content_items').where('id', '=', id).where('tenant_id', '=', tenantId).execute();
  }

  /** Items whose text matches every word of `query`, best first. */
  async search(db: Executor, tenantId: string, query: string, limit: number): Promise<SearchHit[]> {
    const words = query.match(/[\p{L}\p{N}]+/gu) ?? [];
    if (words.length === 0) return [];
    const hits = await this.dialect.searchFullText(db, CONTENT_FULL_TEXT, tenantId, words, limit);
    if (hits.length === 0) return [];
    const titles = await db
      .selectFrom('content_items')
      .select(['id', 'title'])
      .where('tenant_id', '=', tenantId)
      .where(
        'id',
        'in',
        hits.map((h) => h.id),
      )
      .execute();
    const titleOf = new Map(titles.map((t) => [t.id as string, t.title as string | null]));
    return hits.map((h) => ({ id: h.id, title: titleOf.get(h.id) ?? null, snippet: h.snippet, score: Number(h.score) }));
  }
}
