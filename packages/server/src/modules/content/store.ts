import type { Selectable, Updateable } from 'kysely';
import type { Signer } from '../../platform/crypto/index.js';
import type { FullTextSpec } from '../../platform/db/dialect/index.js';
import { type Executor, fromJson, type SqlDialect, toJson } from '../../platform/db/index.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { ContentItemStatus, ContentItemsTable, ContentSourceType } from './tables.js';

/** A content item: its stored row with the metadata read. */
export interface ContentRow extends Omit<Selectable<ContentItemsTable>, 'metadata'> {
  metadata: Record<string, string>;
}

/** What a new item is created with; the rest defaults (no file, no size, no user). */
export type NewContentRow = Partial<ContentRow> & Pick<ContentRow, 'id' | 'tenant_id' | 'source_type' | 'status' | 'content_type'>;

/** What processing records on completion (the stored file, when it was stored then). */
export type ProcessedValues = Pick<
  Updateable<ContentItemsTable>,
  'title' | 'word_count' | 'language' | 'page_count' | 'detected_type' | 'warning' | 's3_key' | 'size' | 'content_type'
>;

/** The one mapper of content_items rows. */
export function toContentRow(row: Selectable<ContentItemsTable>): ContentRow {
  return { ...row, metadata: fromJson<Record<string, string> | null>(row.metadata) ?? {} };
}

export interface SearchHit {
  id: string;
  title: string | null;
  snippet: string;
  score: number;
}

/** What identifies an item to the access check. */
export type ContentRef = Pick<ContentRow, 'id' | 'tenant_id' | 'user_id' | 'source_type'>;

export interface StatusCount {
  status: ContentItemStatus;
  source_type: ContentSourceType;
  n: number;
}

/** The full-text index over content_texts (SQLite: the FTS5 table content_fts). */
export const CONTENT_FULL_TEXT: FullTextSpec = { table: 'content_texts', key: 'item_id', ftsTable: 'content_fts', parts: 'fts_parts' };

/** Statuses of items still to be processed. */
const UNFINISHED: ContentItemStatus[] = ['PENDING', 'PROCESSING'];

/**
 * The only SQL on content_items and content_texts (the full-text index through the dialect).
 * Every query names the tenant, except the sweep for abandoned items (`staleItems`).
 */
export class ContentStore {
  constructor(private readonly dialect: SqlDialect) {}

  // ---------------------------------------------------------------- items

  async get(db: Executor, tenantId: string, id: string): Promise<ContentRow | undefined> {
    const row = await db.selectFrom('content_items').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row && toContentRow(row);
  }

  async count(db: Executor, tenantId: string): Promise<number> {
    const row = await db
      .selectFrom('content_items')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return row.n;
  }

  async insert(db: Executor, values: NewContentRow, now: number): Promise<ContentRow> {
    const row = await db
      .insertInto('content_items')
      .values({
        user_id: '',
        source_uri: '',
        s3_key: null,
        size: 0,
        ...values,
        metadata: toJson(values.metadata ?? {}),
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toContentRow(row);
  }

  /** The TEXT item whose (deferred) file is `key`. */
  async textItemOfKey(db: Executor, tenantId: string, key: string): Promise<{ id: string; contentType: string } | undefined> {
    const row = await db
      .selectFrom('content_items')
      .select(['id', 'content_type'])
      .where('tenant_id', '=', tenantId)
      .where('s3_key', '=', key)
      .where('source_type', '=', 'TEXT')
      .executeTakeFirst();
    return row && { id: row.id, contentType: row.content_type };
  }

  /** The UPLOADING item whose file `key` arrived → PENDING with its size. */
  async markUploaded(db: Executor, tenantId: string, key: string, size: number, now: number): Promise<ContentRow | undefined> {
    const row = await db
      .updateTable('content_items')
      .set({ status: 'PENDING', size, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('s3_key', '=', key)
      .where('status', '=', 'UPLOADING')
      .returningAll()
      .executeTakeFirst();
    return row && toContentRow(row);
  }

  /** A page of the tenant's items by id, filtered by status and source type. */
  async list(
    db: Executor,
    tenantId: string,
    filter: { status?: ContentItemStatus; sourceType?: ContentSourceType },
    page: PageRequest,
    signer: Signer,
  ): Promise<{ rows: ContentRow[]; next?: string }> {
    let q = db.selectFrom('content_items').selectAll().where('tenant_id', '=', tenantId);
    if (filter.status) q = q.where('status', '=', filter.status);
    if (filter.sourceType) q = q.where('source_type', '=', filter.sourceType);
    const scope = `content:${tenantId}:${filter.status ?? ''}:${filter.sourceType ?? ''}`;
    const result = await pageById(q, page, signer, scope);
    return { rows: result.items.map(toContentRow), next: result.next };
  }

  async updateDescription(
    db: Executor,
    tenantId: string,
    id: string,
    values: { metadata: Record<string, string>; sourceUri: string },
    now: number,
  ): Promise<void> {
    await db
      .updateTable('content_items')
      .set({ metadata: toJson(values.metadata), source_uri: values.sourceUri, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .execute();
  }

  /** A TEXT item whose text was replaced (kept in content_texts) → PENDING, to be processed again. */
  async textReplaced(db: Executor, tenantId: string, id: string, file: { key: string; size: number; contentType: string }, now: number) {
    const row = await db
      .updateTable('content_items')
      .set({ size: file.size, s3_key: file.key, status: 'PENDING', error: null, content_type: file.contentType, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row && toContentRow(row);
  }

  /** Item counts of the tenant per status and source type. */
  async statusCounts(db: Executor, tenantId: string): Promise<StatusCount[]> {
    const rows = await db
      .selectFrom('content_items')
      .select(['status', 'source_type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .groupBy(['status', 'source_type'])
      .execute();
    return rows;
  }

  // ---------------------------------------------------------------- processing

  /** PENDING (or, after a lost lease, PROCESSING) items → PROCESSING. */
  async markProcessing(db: Executor, items: { tenantId: string; itemId: string }[], now: number): Promise<void> {
    if (items.length === 0) return;
    await db
      .updateTable('content_items')
      .set({ status: 'PROCESSING', updated_at: now })
      // Each item within its own tenant, as every other read and write of an item.
      .where((eb) => eb.or(items.map((i) => eb.and([eb('id', '=', i.itemId), eb('tenant_id', '=', i.tenantId)]))))
      .where('status', 'in', UNFINISHED)
      .execute();
  }

  /** The item, if its status is one of `from`, updated with `set`; undefined otherwise. */
  private async transition(
    db: Executor,
    tenantId: string,
    id: string,
    from: ContentItemStatus[],
    set: Updateable<ContentItemsTable>,
  ): Promise<ContentRow | undefined> {
    const row = await db
      .updateTable('content_items')
      .set(set)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', 'in', from)
      .returningAll()
      .executeTakeFirst();
    return row && toContentRow(row);
  }

  /** The item → PROCESSING if it is PENDING or PROCESSING; undefined otherwise. */
  claim(db: Executor, tenantId: string, id: string, now: number): Promise<ContentRow | undefined> {
    return this.transition(db, tenantId, id, UNFINISHED, { status: 'PROCESSING', updated_at: now });
  }

  /** A PROCESSING item back to PENDING (its job will retry). */
  async requeue(db: Executor, tenantId: string, id: string, now: number): Promise<void> {
    await this.transition(db, tenantId, id, ['PROCESSING'], { status: 'PENDING', updated_at: now });
  }

  /** A PROCESSING item → COMPLETED with what processing found; undefined if it was not PROCESSING. */
  completed(db: Executor, tenantId: string, id: string, values: ProcessedValues, now: number): Promise<ContentRow | undefined> {
    const set = { ...values, status: 'COMPLETED' as const, error: null, processed_at: now, updated_at: now };
    return this.transition(db, tenantId, id, ['PROCESSING'], set);
  }

  /** An unfinished item → ERROR; undefined if it was already finished (or is gone). */
  failed(db: Executor, tenantId: string, id: string, error: string, now: number): Promise<ContentRow | undefined> {
    return this.transition(db, tenantId, id, ['UPLOADING', ...UNFINISHED], { status: 'ERROR', error, updated_at: now });
  }

  /**
   * Unfinished items of every tenant not changed since `before`, by id after `afterId`: the
   * background sweep for items whose job died (the one query not confined to a tenant).
   */
  async staleItems(db: Executor, before: number, afterId: string, limit: number): Promise<ContentRow[]> {
    const rows = await db
      .selectFrom('content_items')
      .selectAll()
      .where('status', 'in', UNFINISHED)
      .where('updated_at', '<', before)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map(toContentRow);
  }

  // ---------------------------------------------------------------- text and index

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

  /** Items whose text matches every word of `query`, best first, each with its item. */
  async search(db: Executor, tenantId: string, query: string, limit: number): Promise<{ hit: SearchHit; item: ContentRef }[]> {
    const words = query.match(/[\p{L}\p{N}]+/gu) ?? [];
    if (words.length === 0) return [];
    const hits = await this.dialect.searchFullText(db, CONTENT_FULL_TEXT, tenantId, words, limit);
    if (hits.length === 0) return [];
    const titles = await db
      .selectFrom('content_items')
      .select(['id', 'tenant_id', 'title', 'user_id', 'source_type'])
      .where('tenant_id', '=', tenantId)
      .where(
        'id',
        'in',
        hits.map((h) => h.id),
      )
      .execute();
    const itemOf = new Map(titles.map((t) => [t.id, t]));
    return hits.flatMap((h) => {
      const item = itemOf.get(h.id);
      return item ? [{ hit: { id: h.id, title: item.title, snippet: h.snippet, score: h.score }, item }] : [];
    });
  }
}
