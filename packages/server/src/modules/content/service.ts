import type { Readable } from 'node:stream';
import type {
  BatchIngestItem,
  BatchIngestResponse,
  ContentItem,
  ContentMetadata,
  ContentStats,
  ContentStatus,
  IngestResponse,
} from '@loam/api';
import type { BlobInfo } from '../../platform/blob/index.js';
import { type Executor, toJson } from '../../platform/db/index.js';
import { addressRefusal, parseFetchUrl } from '../../platform/fetch/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/http/errors.js';
import { pageById } from '../../platform/http/pagination.js';
import type { Platform } from '../../platform/index.js';
import { type StorageService, tenantOfKey } from '../storage/service.js';
import { ContentPipeline, type FetchPolicy, PROCESS_JOB, type ProcessPayload, contentEventData } from './pipeline.js';
import { type ContentRow, ContentStore, type SearchHit, toContentRow } from './store.js';

const STATUSES: ContentStatus[] = ['UPLOADING', 'PENDING', 'PROCESSING', 'COMPLETED', 'ERROR'];
const SOURCE_TYPES = ['TEXT', 'URL', 'FILE'] as const;
type SourceType = (typeof SOURCE_TYPES)[number];

export interface ItemInput {
  userId?: string;
  metadata?: ContentMetadata;
  callbackUrl?: string;
}

/** Status filter: case-insensitive, `processed` = COMPLETED. */
export function parseStatusFilter(raw: string | undefined): ContentStatus | undefined {
  if (!raw) return undefined;
  const up = raw.trim().toUpperCase();
  const status = (up === 'PROCESSED' ? 'COMPLETED' : up) as ContentStatus;
  if (!STATUSES.includes(status))
    throw new AppError('invalid_param', 400, `status must be one of ${STATUSES.join(', ')} (or processed), not '${raw}'`);
  return status;
}

export function parseSourceTypeFilter(raw: string | undefined): SourceType | undefined {
  if (!raw) return undefined;
  const up = raw.trim().toUpperCase() as SourceType;
  if (!SOURCE_TYPES.includes(up)) throw new AppError('invalid_param', 400, `sourceType must be one of TEXT, URL, FILE, not '${raw}'`);
  return up;
}

const fieldError = (field: string, message: string) => badRequest(message, [{ field, code: 'invalid_value', message }]);

/**
 * Content items: ingestion (inline text, uploads, URLs), the processing pipeline (fetch, detect,
 * extract, normalize, index) as jobs, callbacks, and the full-text index of extracted text.
 */
export class ContentService {
  /** Test-only: see FetchPolicy. Never set from configuration. */
  readonly fetchPolicy: FetchPolicy = {};
  private readonly store: ContentStore;
  /** Processing jobs and callbacks (pipeline.ts). */
  readonly pipeline: ContentPipeline;

  constructor(
    private readonly platform: Platform,
    private readonly storage: StorageService,
  ) {
    this.store = new ContentStore(platform.database.dialect);
    this.pipeline = new ContentPipeline(platform, storage, this.store, this.fetchPolicy);
    storage.onUploaded(async (info, tenantId) => {
      await this.uploadArrived(info, tenantId);
    });
    storage.onDeferred((key) => this.inlineTextObject(key));
  }

  /**
   * Inline text is kept in the database only; its file (what download URLs serve) is written when
   * one is first asked for: most inline text is never downloaded, and writing a file per item
   * (two directories, two files, two renames, a storage record) cost more than the rest of its
   * processing. Its size counts toward the storage quota from ingestion on (`storage.reserve`); a
   * text replaced later drops the file (`putText`).
   */
  private async inlineTextObject(key: string): Promise<{ body: Buffer; contentType: string } | undefined> {
    const tenantId = tenantOfKey(key);
    const row = await this.db
      .selectFrom('content_items')
      .select(['id', 'content_type'])
      .where('tenant_id', '=', tenantId)
      .where('s3_key', '=', key)
      .where('source_type', '=', 'TEXT')
      .executeTakeFirst();
    if (!row) return undefined;
    const text = await this.store.text(this.db, tenantId, row.id);
    return text === undefined ? undefined : { body: Buffer.from(text, 'utf8'), contentType: row.content_type };
  }

  private get db() {
    return this.platform.database.db;
  }
  private get config() {
    return this.platform.config;
  }

  // ---------------------------------------------------------------- representation

  toItem(row: ContentRow): ContentItem {
    const item: ContentItem = {
      id: row.id,
      tenantId: row.tenant_id,
      userId: row.user_id,
      sourceType: row.source_type,
      sourceUri: row.source_uri,
      s3Key: row.s3_key ?? '',
      s3Bucket: row.s3_key ? this.platform.blob.bucket : '',
      status: row.status,
      contentType: row.content_type,
      size: row.size,
      metadata: row.metadata,
      createdAt: rfc3339(row.created_at),
      updatedAt: rfc3339(row.updated_at),
    };
    if (row.error) item.error = row.error;
    if (row.title) item.title = row.title;
    if (row.word_count != null) item.wordCount = row.word_count;
    if (row.language) item.language = row.language;
    if (row.page_count != null) item.pageCount = row.page_count;
    if (row.detected_type) item.detectedType = row.detected_type;
    if (row.source_sub_type) item.sourceSubType = row.source_sub_type;
    if (row.user_notes) item.userNotes = row.user_notes;
    if (row.callback_url) item.callbackUrl = row.callback_url;
    if (row.processed_at != null) item.processedAt = rfc3339(row.processed_at);
    return item;
  }

  private ingestResponse(row: ContentRow, extra: Partial<IngestResponse> = {}): IngestResponse {
    return {
      id: row.id,
      status: row.status,
      tenantId: row.tenant_id,
      userId: row.user_id,
      timestamp: rfc3339(row.created_at),
      size: row.size,
      ...extra,
    };
  }

  // ---------------------------------------------------------------- checks

  private checkText(content: string): Buffer {
    const bytes = Buffer.from(content, 'utf8');
    if (bytes.length > this.config.contentMaxTextBytes)
      throw new AppError(
        'payload_too_large',
        413,
        `The text is ${bytes.length} bytes; the limit is ${this.config.contentMaxTextBytes} bytes (LOAM_CONTENT_MAX_TEXT_BYTES)`,
      );
    if (content.trim() === '') throw fieldError('content', 'content must not be empty');
    return bytes;
  }

  /** A URL Loam may fetch or call: http(s), not too long, not an IP literal in a refused range. */
  checkUrl(raw: string, field: string): string {
    if (raw.length > this.config.contentMaxUrlLength)
      throw fieldError(field, `${field} is ${raw.length} characters; the limit is ${this.config.contentMaxUrlLength}`);
    let url: URL;
    try {
      url = parseFetchUrl(raw);
    } catch (err) {
      throw fieldError(field, `${field}: ${(err as Error).message}`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const refusal = /^[\d.]+$|:/.test(host) ? addressRefusal(host, this.fetchPolicy) : null;
    if (refusal) throw fieldError(field, `${field} points to ${refusal}, which Loam does not connect to`);
    return url.toString();
  }

  private async checkItemQuota(db: Executor, tenantId: string, adding = 1): Promise<void> {
    const count = await this.store.count(db, tenantId);
    if (count + adding > this.config.contentMaxItems)
      throw new AppError(
        'quota_exceeded',
        403,
        `The tenant has ${count} content items; the limit is ${this.config.contentMaxItems} (LOAM_CONTENT_MAX_ITEMS)`,
      );
  }

  // ---------------------------------------------------------------- creation

  private async insert(
    tx: Executor,
    values: Partial<ContentRow> & Pick<ContentRow, 'id' | 'tenant_id' | 'source_type' | 'status' | 'content_type'>,
  ): Promise<ContentRow> {
    const now = this.platform.clock.now();
    const row = await tx
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
    const item = { ...row, size: Number(row.size), metadata: values.metadata ?? {}, created_at: now, updated_at: now } as ContentRow;
    await this.platform.events.emit(tx, 'content.created', item.id, contentEventData(item), { tenantId: item.tenant_id });
    if (item.status === 'PENDING') await this.enqueueProcessing(tx, item);
    return item;
  }

  private enqueueProcessing(tx: Executor, row: Pick<ContentRow, 'id' | 'tenant_id'>) {
    return this.platform.jobs.enqueue<ProcessPayload>(
      tx,
      PROCESS_JOB,
      { itemId: row.id, tenantId: row.tenant_id },
      { tenantId: row.tenant_id, key: `content:${row.id}` },
    );
  }

  /** Inline text: stored, then processed by a job (PENDING at once). */
  async ingestText(tenantId: string, content: string, input: ItemInput = {}): Promise<IngestResponse> {
    const bytes = this.checkText(content);
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    await this.checkItemQuota(this.db, tenantId);
    const id = this.platform.ids.new('cnt');
    const contentType = 'text/plain; charset=utf-8';
    // The text is kept in the database; its file is written on the first download (inlineTextObject).
    const key = this.storage.newKey(tenantId, 'content.txt', id);
    const row = await this.platform.transaction(async (tx) => {
      const item = await this.insert(tx, {
        id,
        tenant_id: tenantId,
        user_id: input.userId ?? '',
        source_type: 'TEXT',
        status: 'PENDING',
        content_type: contentType,
        s3_key: key,
        size: bytes.length,
        metadata: input.metadata,
        callback_url: callbackUrl,
      });
      await this.store.putText(tx, tenantId, id, content, item.created_at);
      await this.storage.reserve(tx, key, bytes.length, contentType);
      return item;
    });
    return this.ingestResponse(row);
  }

  /** An item whose bytes the client will PUT to the returned pre-signed URL (UPLOADING until then). */
  async createUpload(
    tenantId: string,
    sourceType: 'TEXT' | 'FILE',
    filename: string,
    contentType: string,
    input: ItemInput = {},
  ): Promise<IngestResponse> {
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    await this.checkItemQuota(this.db, tenantId);
    const id = this.platform.ids.new('cnt');
    return this.platform.transaction(async (tx) => {
      const upload = await this.storage.issueUploadUrl(tenantId, filename, contentType, { id, tx });
      const row = await this.insert(tx, {
        id,
        tenant_id: tenantId,
        user_id: input.userId ?? '',
        source_type: sourceType,
        status: 'UPLOADING',
        content_type: contentType,
        s3_key: upload.s3Key,
        source_uri: sourceType === 'FILE' ? filename : '',
        metadata: input.metadata,
        callback_url: callbackUrl,
      });
      const { size: _size, ...response } = this.ingestResponse(row, { uploadUrl: upload.uploadUrl, s3Key: upload.s3Key });
      return response;
    });
  }

  /** A URL to fetch asynchronously (PENDING at once). */
  async ingestUrl(
    tenantId: string,
    rawUrl: string,
    input: ItemInput & { sourceSubType?: string; userNotes?: string } = {},
  ): Promise<IngestResponse> {
    const url = this.checkUrl(rawUrl, 'url');
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    await this.checkItemQuota(this.db, tenantId);
    const row = await this.platform.transaction((tx) =>
      this.insert(tx, {
        id: this.platform.ids.new('cnt'),
        tenant_id: tenantId,
        user_id: input.userId ?? '',
        source_type: 'URL',
        source_uri: url,
        status: 'PENDING',
        content_type: '',
        metadata: input.metadata,
        source_sub_type: input.sourceSubType ?? null,
        user_notes: input.userNotes ?? null,
        callback_url: callbackUrl,
      }),
    );
    return this.ingestResponse(row);
  }

  /** A file streamed through Loam (multipart): stored within the limits, then processed. */
  async ingestFileStream(
    tenantId: string,
    file: { stream: Readable; filename: string; contentType: string },
    input: ItemInput = {},
  ): Promise<IngestResponse> {
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    await this.checkItemQuota(this.db, tenantId);
    const id = this.platform.ids.new('cnt');
    const key = this.storage.newKey(tenantId, file.filename || 'file', id);
    const contentType = file.contentType || 'application/octet-stream';
    const info = await this.storage.put(tenantId, key, file.stream, contentType);
    const row = await this.platform.transaction((tx) =>
      this.insert(tx, {
        id,
        tenant_id: tenantId,
        user_id: input.userId ?? '',
        source_type: 'FILE',
        source_uri: file.filename,
        status: 'PENDING',
        content_type: contentType,
        s3_key: key,
        size: info.size,
        metadata: input.metadata,
        callback_url: callbackUrl,
      }),
    );
    return this.ingestResponse(row);
  }

  /** Up to 100 text or URL items; one item's failure does not stop the others. */
  async ingestBatch(tenantId: string, items: BatchIngestItem[]): Promise<BatchIngestResponse> {
    const results: BatchIngestResponse['results'] = [];
    for (const [index, item] of items.entries()) {
      try {
        const kind = (item.type ?? (item.url !== undefined ? 'url' : 'text')).toLowerCase();
        let out: IngestResponse;
        if (kind === 'url') {
          if (item.url === undefined) throw fieldError(`items[${index}].url`, 'A URL item needs url');
          out = await this.ingestUrl(tenantId, item.url, item);
        } else {
          if (item.content === undefined) throw fieldError(`items[${index}].content`, 'A text item needs content');
          out = await this.ingestText(tenantId, item.content, item);
        }
        results.push({ index, id: out.id, status: out.status });
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        results.push({ index, error: err.code, error_description: err.detail });
      }
    }
    const failed = results.filter((r) => r.error).length;
    return { results, succeeded: results.length - failed, failed };
  }

  // ---------------------------------------------------------------- uploads

  /** An object arrived for an UPLOADING item: PENDING, and a processing job. */
  private async uploadArrived(info: BlobInfo, tenantId: string): Promise<ContentRow | undefined> {
    return this.platform.transaction(async (tx) => {
      const row = await tx
        .updateTable('content_items')
        .set({ status: 'PENDING', size: info.size, updated_at: this.platform.clock.now() })
        .where('tenant_id', '=', tenantId)
        .where('s3_key', '=', info.key)
        .where('status', '=', 'UPLOADING')
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      const item = (await this.store.get(tx, tenantId, row.id)) as ContentRow;
      await this.platform.events.emit(tx, 'content.updated', item.id, contentEventData(item), { tenantId });
      await this.enqueueProcessing(tx, item);
      return item;
    });
  }

  /**
   * For stores whose uploads Loam does not see (S3): moves an UPLOADING item on once its object
   * exists. 409 while it does not; an object over the file limit is deleted and the item fails.
   */
  async completeUpload(tenantId: string, id: string): Promise<ContentItem> {
    const row = await this.getRow(tenantId, id);
    if (row.status !== 'UPLOADING' || !row.s3_key) return this.toItem(row);
    let info: BlobInfo | undefined;
    try {
      info = await this.storage.confirmUpload(row.s3_key);
    } catch (err) {
      if (err instanceof AppError) await this.pipeline.fail(row, err.detail);
      throw err;
    }
    if (!info) throw conflict('The file has not been uploaded yet: PUT it to the uploadUrl first');
    await this.uploadArrived(info, tenantId);
    return this.toItem(await this.getRow(tenantId, id));
  }

  // ---------------------------------------------------------------- reading and changing

  private async getRow(tenantId: string, id: string): Promise<ContentRow> {
    const row = await this.store.get(this.db, tenantId, id);
    if (!row) throw notFound('Content item');
    return row;
  }

  /** The item; an UPLOADING item is checked against the store first (S3 uploads are not announced). */
  async get(tenantId: string, id: string): Promise<ContentItem> {
    const row = await this.getRow(tenantId, id);
    if (row.status === 'UPLOADING' && row.s3_key) {
      const info = await this.storage.confirmUpload(row.s3_key).catch(() => undefined);
      if (info) return this.toItem((await this.uploadArrived(info, tenantId)) ?? (await this.getRow(tenantId, id)));
    }
    return this.toItem(row);
  }

  async list(
    tenantId: string,
    query: { status?: string; sourceType?: string; limit?: number; nextToken?: string },
  ): Promise<{ items: ContentItem[]; nextToken: string }> {
    const status = parseStatusFilter(query.status);
    const sourceType = parseSourceTypeFilter(query.sourceType);
    let q = this.db.selectFrom('content_items').selectAll().where('tenant_id', '=', tenantId);
    if (status) q = q.where('status', '=', status);
    if (sourceType) q = q.where('source_type', '=', sourceType);
    const page = await pageById(
      q,
      { limit: query.limit ?? 20, cursor: query.nextToken || undefined },
      this.platform.signer,
      `content:${tenantId}:${status ?? ''}:${sourceType ?? ''}`,
    );
    return { items: page.items.map((r) => this.toItem(toContentRow(r))), nextToken: page.next ?? '' };
  }

  /** `sourceUri` replaces; `metadata` merges, and a key whose value is `""` is removed. */
  async update(tenantId: string, id: string, patch: { sourceUri?: string; metadata?: ContentMetadata }): Promise<ContentItem> {
    const row = await this.platform.transaction(async (tx) => {
      const current = await this.store.get(tx, tenantId, id);
      if (!current) throw notFound('Content item');
      const metadata = { ...current.metadata };
      for (const [k, v] of Object.entries(patch.metadata ?? {})) {
        if (v === '') delete metadata[k];
        else metadata[k] = v;
      }
      const now = this.platform.clock.now();
      await tx
        .updateTable('content_items')
        .set({ metadata: toJson(metadata), source_uri: patch.sourceUri ?? current.source_uri, updated_at: now })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .execute();
      const updated: ContentRow = { ...current, metadata, source_uri: patch.sourceUri ?? current.source_uri, updated_at: now };
      await this.platform.events.emit(
        tx,
        'content.updated',
        id,
        { ...contentEventData(updated), changed: Object.keys(patch).filter((k) => patch[k as keyof typeof patch] !== undefined) },
        { tenantId },
      );
      return updated;
    });
    return this.toItem(row);
  }

  /** Removes the item, its text, its index entry and its stored file. */
  async delete(tenantId: string, id: string): Promise<void> {
    const row = await this.platform.transaction(async (tx) => {
      const current = await this.store.get(tx, tenantId, id);
      if (!current) throw notFound('Content item');
      await this.store.delete(tx, tenantId, id);
      await this.platform.events.emit(tx, 'content.deleted', id, { id, sourceType: current.source_type }, { tenantId });
      return current;
    });
    if (row.s3_key) await this.storage.delete(row.s3_key);
  }

  async downloadUrl(tenantId: string, id: string): Promise<{ downloadUrl: string; expiresIn: number }> {
    const row = await this.getRow(tenantId, id);
    const info = row.s3_key ? await this.storage.ensure(row.s3_key) : undefined;
    if (!row.s3_key || !info) throw notFound('Stored file of the content item');
    const downloadUrl = await this.platform.blob.presignGet(row.s3_key, { expiresInSec: this.storage.expiresInSec });
    return { downloadUrl, expiresIn: this.storage.expiresInSec };
  }

  /** The raw text of TEXT items; the extracted text of other items once COMPLETED. */
  async getText(tenantId: string, id: string): Promise<string> {
    const row = await this.getRow(tenantId, id);
    if (row.source_type === 'TEXT' || row.status === 'COMPLETED') {
      const text = await this.store.text(this.db, tenantId, id);
      if (text !== undefined) return text;
    }
    throw conflict(`The content item has no text yet (status ${row.status})`);
  }

  /** Replaces the text of a TEXT item and processes it again (re-indexing it). */
  async putText(tenantId: string, id: string, content: string): Promise<void> {
    const row = await this.getRow(tenantId, id);
    if (row.source_type !== 'TEXT') throw new AppError('bad_request', 400, 'Content item is not of type TEXT');
    const bytes = this.checkText(content);
    const key = row.s3_key ?? this.storage.newKey(tenantId, 'content.txt', id);
    await this.platform.transaction(async (tx) => {
      const now = this.platform.clock.now();
      const updated = await tx
        .updateTable('content_items')
        .set({
          size: bytes.length,
          s3_key: key,
          status: 'PENDING',
          error: null,
          content_type: 'text/plain; charset=utf-8',
          updated_at: now,
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirst();
      if (!updated) throw notFound('Content item');
      await this.store.putText(tx, tenantId, id, content, now);
      await this.storage.reserve(tx, key, bytes.length, 'text/plain; charset=utf-8');
      const item = { ...row, size: bytes.length, status: 'PENDING' as const, updated_at: now };
      await this.platform.events.emit(tx, 'content.updated', id, { ...contentEventData(item), changed: ['text'] }, { tenantId });
      await this.enqueueProcessing(tx, item);
    });
    // The item's file held the old text: the next download writes the new one (inlineTextObject).
    await this.platform.blob.delete(key);
  }

  async stats(tenantId: string): Promise<ContentStats> {
    const rows = await this.db
      .selectFrom('content_items')
      .select(['status', 'source_type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('tenant_id', '=', tenantId)
      .groupBy(['status', 'source_type'])
      .execute();
    const byStatus: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    const bySource: Record<string, number> = Object.fromEntries(SOURCE_TYPES.map((s) => [s, 0]));
    let total = 0;
    for (const r of rows) {
      const n = Number(r.n);
      byStatus[r.status] = (byStatus[r.status] ?? 0) + n;
      bySource[r.source_type] = (bySource[r.source_type] ?? 0) + n;
      total += n;
    }
    return { total, by_status: byStatus, by_source_type: bySource, stored_bytes: await this.storage.usage(tenantId) };
  }

  /** Full-text search over the extracted text of the tenant's items (the knowledge base builds on it). */
  searchText(tenantId: string, query: string, limit = 10): Promise<SearchHit[]> {
    return this.store.search(this.db, tenantId, query, Math.max(1, Math.min(100, limit)));
  }
}
