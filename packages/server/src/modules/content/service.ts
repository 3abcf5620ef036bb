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
import type { ResourceRef } from '../../platform/access.js';
import type { BlobInfo } from '../../platform/blob/index.js';
import type { RequestContext } from '../../platform/context.js';
import type { Executor } from '../../platform/db/index.js';
import { addressRefusal, parseFetchUrl } from '../../platform/fetch/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import { type StorageService, tenantOfKey } from '../storage/service.js';
import { extractContent } from './extract.js';
import { ContentPipeline, type FetchPolicy, PROCESS_JOB, type ProcessPayload, contentEventData, processKey } from './pipeline.js';
import { type ContentRef, type ContentRow, ContentStore, type NewContentRow, type SearchHit } from './store.js';

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

type ContentAction = 'ingest:read' | 'ingest:write';

/** A content item as the access check sees it (Cedar `Loam::Content`; `owner` is its user). */
const contentResource = (row: ContentRef): ResourceRef => ({
  type: 'Content',
  id: row.id,
  tenantId: row.tenant_id,
  attributes: { owner: row.user_id, source_type: row.source_type },
});

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
    const item = await this.store.textItemOfKey(this.db, tenantId, key);
    if (!item) return undefined;
    const text = await this.store.text(this.db, tenantId, item.id);
    return text === undefined ? undefined : { body: Buffer.from(text, 'utf8'), contentType: item.contentType };
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
    if (row.warning) item.warning = row.warning;
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

  private async insert(tx: Executor, values: NewContentRow): Promise<ContentRow> {
    await this.platform.checkQuota(values.tenant_id, 'content_items', 1, tx);
    const item = await this.store.insert(tx, values, this.platform.clock.now());
    await this.platform.events.emit(tx, 'content.created', item.id, contentEventData(item), { tenantId: item.tenant_id });
    if (item.status === 'PENDING') await this.enqueueProcessing(tx, item);
    return item;
  }

  private enqueueProcessing(tx: Executor, row: Pick<ContentRow, 'id' | 'tenant_id'>) {
    return this.platform.jobs.enqueue<ProcessPayload>(
      tx,
      PROCESS_JOB,
      { itemId: row.id, tenantId: row.tenant_id },
      { tenantId: row.tenant_id, key: processKey(row.id) },
    );
  }

  /** A new item's id, once the caller may create it (and the tenant has room for it). */
  private async newItem(ctx: RequestContext, sourceType: ContentRow['source_type'], input: ItemInput): Promise<string> {
    const id = this.platform.ids.new('cnt');
    const resource = contentResource({ id, tenant_id: ctx.tenantId, user_id: input.userId ?? '', source_type: sourceType });
    await this.platform.access.check(ctx, 'ingest:write', resource);
    await this.checkItemQuota(this.db, ctx.tenantId);
    return id;
  }

  /** Inline text: stored, then processed by a job (PENDING at once). */
  async ingestText(ctx: RequestContext, content: string, input: ItemInput = {}): Promise<IngestResponse> {
    const bytes = this.checkText(content);
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    const { tenantId } = ctx;
    const id = await this.newItem(ctx, 'TEXT', input);
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
    ctx: RequestContext,
    sourceType: 'TEXT' | 'FILE',
    filename: string,
    contentType: string,
    input: ItemInput = {},
  ): Promise<IngestResponse> {
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    const { tenantId } = ctx;
    const id = await this.newItem(ctx, sourceType, input);
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
    ctx: RequestContext,
    rawUrl: string,
    input: ItemInput & { sourceSubType?: string; userNotes?: string } = {},
  ): Promise<IngestResponse> {
    const url = this.checkUrl(rawUrl, 'url');
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    const id = await this.newItem(ctx, 'URL', input);
    const row = await this.platform.transaction((tx) =>
      this.insert(tx, {
        id,
        tenant_id: ctx.tenantId,
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
    ctx: RequestContext,
    file: { stream: Readable; filename: string; contentType: string },
    input: ItemInput = {},
  ): Promise<IngestResponse> {
    const callbackUrl = input.callbackUrl ? this.checkUrl(input.callbackUrl, 'callbackUrl') : null;
    const { tenantId } = ctx;
    const id = await this.newItem(ctx, 'FILE', input);
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
  async ingestBatch(ctx: RequestContext, items: BatchIngestItem[]): Promise<BatchIngestResponse> {
    const results: BatchIngestResponse['results'] = [];
    for (const [index, item] of items.entries()) {
      try {
        const kind = (item.type ?? (item.url !== undefined ? 'url' : 'text')).toLowerCase();
        let out: IngestResponse;
        if (kind === 'url') {
          if (item.url === undefined) throw fieldError(`items[${index}].url`, 'A URL item needs url');
          out = await this.ingestUrl(ctx, item.url, item);
        } else {
          if (item.content === undefined) throw fieldError(`items[${index}].content`, 'A text item needs content');
          out = await this.ingestText(ctx, item.content, item);
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
      const item = await this.store.markUploaded(tx, tenantId, info.key, info.size, this.platform.clock.now());
      if (!item) return undefined;
      await this.platform.events.emit(tx, 'content.updated', item.id, contentEventData(item), { tenantId });
      await this.enqueueProcessing(tx, item);
      return item;
    });
  }

  /**
   * For stores whose uploads Loam does not see (S3): moves an UPLOADING item on once its object
   * exists. 409 while it does not; an object over the file limit is deleted and the item fails.
   */
  async completeUpload(ctx: RequestContext, id: string): Promise<ContentItem> {
    const { tenantId } = ctx;
    const row = await this.authorized(ctx, id, 'ingest:write');
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

  private async getRow(tenantId: string, id: string, db: Executor = this.db): Promise<ContentRow> {
    const row = await this.store.get(db, tenantId, id);
    if (!row) throw notFound('Content item');
    return row;
  }

  /**
   * The caller's item (404 when its tenant has none of that id), once the access check allows
   * `action` on it. Never inside a transaction: a denial is recorded (and the check may load the
   * tenant's policies) outside it.
   */
  private async authorized(ctx: RequestContext, id: string, action: ContentAction): Promise<ContentRow> {
    const row = await this.getRow(ctx.tenantId, id);
    await this.platform.access.check(ctx, action, contentResource(row));
    return row;
  }

  /** The item; an UPLOADING item is checked against the store first (S3 uploads are not announced). */
  async get(ctx: RequestContext, id: string): Promise<ContentItem> {
    const { tenantId } = ctx;
    const row = await this.authorized(ctx, id, 'ingest:read');
    if (row.status === 'UPLOADING' && row.s3_key) {
      const info = await this.storage.confirmUpload(row.s3_key).catch(() => undefined);
      if (info) return this.toItem((await this.uploadArrived(info, tenantId)) ?? (await this.getRow(tenantId, id)));
    }
    return this.toItem(row);
  }

  /** A page of the caller's items; items the access check does not let it read are left out. */
  async list(
    ctx: RequestContext,
    query: { status?: string; sourceType?: string; limit?: number; nextToken?: string },
  ): Promise<{ items: ContentItem[]; nextToken: string }> {
    const status = parseStatusFilter(query.status);
    const sourceType = parseSourceTypeFilter(query.sourceType);
    const page = await this.store.list(
      this.db,
      ctx.tenantId,
      { status, sourceType },
      { limit: query.limit ?? 20, cursor: query.nextToken || undefined },
      this.platform.signer,
    );
    const rows = await this.readable(ctx, page.rows, (row) => row);
    return { items: rows.map((r) => this.toItem(r)), nextToken: page.next ?? '' };
  }

  /** Those of `entries` whose item the caller may read (`access.allows`, nothing recorded). */
  private async readable<T>(ctx: RequestContext, entries: T[], itemOf: (entry: T) => ContentRef): Promise<T[]> {
    const allowed = await Promise.all(
      entries.map((entry) => this.platform.access.allows(ctx, 'ingest:read', contentResource(itemOf(entry)))),
    );
    return entries.filter((_, i) => allowed[i]);
  }

  /** `sourceUri` replaces; `metadata` merges, and a key whose value is `""` is removed. */
  async update(ctx: RequestContext, id: string, patch: { sourceUri?: string; metadata?: ContentMetadata }): Promise<ContentItem> {
    const { tenantId } = ctx;
    await this.authorized(ctx, id, 'ingest:write');
    const row = await this.platform.transaction(async (tx) => {
      const current = await this.getRow(tenantId, id, tx);
      const metadata = { ...current.metadata };
      for (const [k, v] of Object.entries(patch.metadata ?? {})) {
        if (v === '') delete metadata[k];
        else metadata[k] = v;
      }
      const now = this.platform.clock.now();
      await this.store.updateDescription(tx, tenantId, id, { metadata, sourceUri: patch.sourceUri ?? current.source_uri }, now);
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
  async delete(ctx: RequestContext, id: string): Promise<void> {
    const { tenantId } = ctx;
    await this.authorized(ctx, id, 'ingest:write');
    const row = await this.platform.transaction(async (tx) => {
      const current = await this.getRow(tenantId, id, tx);
      await this.store.delete(tx, tenantId, id);
      await this.platform.events.emit(tx, 'content.deleted', id, { id, sourceType: current.source_type }, { tenantId });
      return current;
    });
    if (row.s3_key) await this.storage.delete(row.s3_key);
  }

  async downloadUrl(ctx: RequestContext, id: string): Promise<{ downloadUrl: string; expiresIn: number }> {
    const row = await this.authorized(ctx, id, 'ingest:read');
    const info = row.s3_key ? await this.storage.ensure(row.s3_key) : undefined;
    if (!row.s3_key || !info) throw notFound('Stored file of the content item');
    const downloadUrl = await this.platform.blob.presignGet(row.s3_key, { expiresInSec: this.storage.expiresInSec });
    return { downloadUrl, expiresIn: this.storage.expiresInSec };
  }

  /** The raw text of TEXT items; the extracted text of other items once COMPLETED. */
  async getText(ctx: RequestContext, id: string): Promise<string> {
    const row = await this.authorized(ctx, id, 'ingest:read');
    if (row.source_type === 'TEXT' || row.status === 'COMPLETED') {
      const text = await this.store.text(this.db, ctx.tenantId, id);
      if (text !== undefined) return text;
    }
    throw conflict(`The content item has no text yet (status ${row.status})`);
  }

  /** Replaces the text of a TEXT item and processes it again (re-indexing it). */
  async putText(ctx: RequestContext, id: string, content: string): Promise<void> {
    const { tenantId } = ctx;
    const row = await this.authorized(ctx, id, 'ingest:write');
    if (row.source_type !== 'TEXT') throw new AppError('bad_request', 400, 'Content item is not of type TEXT');
    const bytes = this.checkText(content);
    const key = row.s3_key ?? this.storage.newKey(tenantId, 'content.txt', id);
    await this.platform.transaction(async (tx) => {
      const now = this.platform.clock.now();
      const file = { key, size: bytes.length, contentType: 'text/plain; charset=utf-8' };
      if (!(await this.store.textReplaced(tx, tenantId, id, file, now))) throw notFound('Content item');
      await this.store.putText(tx, tenantId, id, content, now);
      await this.storage.reserve(tx, key, bytes.length, 'text/plain; charset=utf-8');
      const item = { ...row, size: bytes.length, status: 'PENDING' as const, updated_at: now };
      await this.platform.events.emit(tx, 'content.updated', id, { ...contentEventData(item), changed: ['text'] }, { tenantId });
      await this.enqueueProcessing(tx, item);
    });
    // The item's file held the old text: the next download writes the new one (inlineTextObject).
    await this.platform.blob.delete(key);
  }

  /** Counts over all of the tenant's items: the access check is asked for reading them as a whole (id `*`). */
  async stats(ctx: RequestContext): Promise<ContentStats> {
    const { tenantId } = ctx;
    await this.platform.access.check(ctx, 'ingest:read', { type: 'Content', id: '*', tenantId });
    const rows = await this.store.statusCounts(this.db, tenantId);
    const byStatus: Record<string, number> = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    const bySource: Record<string, number> = Object.fromEntries(SOURCE_TYPES.map((s) => [s, 0]));
    let total = 0;
    for (const r of rows) {
      const n = r.n;
      byStatus[r.status] = (byStatus[r.status] ?? 0) + n;
      bySource[r.source_type] = (bySource[r.source_type] ?? 0) + n;
      total += n;
    }
    return { total, by_status: byStatus, by_source_type: bySource, stored_bytes: await this.storage.usage(tenantId) };
  }

  /**
   * Full-text search over the extracted text of the caller's items (the knowledge base builds on
   * it); hits on items the access check does not let it read are left out.
   */
  async searchText(ctx: RequestContext, query: string, limit = 10): Promise<SearchHit[]> {
    const found = await this.store.search(this.db, ctx.tenantId, query, Math.max(1, Math.min(100, limit)));
    return (await this.readable(ctx, found, (f) => f.item)).map((f) => f.hit);
  }

  /**
   * The text of a file (PDF, DOCX, HTML, Markdown, text, …) by the pipeline's extractors, for
   * other modules (the knowledge base). `markdown`: the source was Markdown. A file that cannot
   * be read throws `ExtractionError` (its message is for the user; retrying will not help).
   */
  async extractText(bytes: Buffer, contentType?: string, filename?: string): Promise<{ text: string; title?: string; markdown: boolean }> {
    const extracted = await extractContent(bytes, contentType, filename);
    return { text: extracted.text, title: extracted.title, markdown: extracted.type === 'markdown' };
  }
}
