import type { AddContentItem, Collection, CreateCollection, CreateDocument, KbDocument, UpdateCollection } from '@loam/api';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import type { Executor } from '../../platform/db/index.js';
import { AppError, badRequest, conflict, notFound } from '../../platform/errors.js';
import type { PageRequest } from '../../platform/http/pagination.js';
import type { Platform, Tx } from '../../platform/index.js';
import { rfc3339 } from '../../platform/time.js';
import type { ContentService } from '../content/service.js';
import type { StorageService } from '../storage/service.js';
import { type AccessTuple, type CollectionRow, type DocumentRow, KnowledgeStore } from './store.js';
import { STEP_JOBS, type StepPayload } from './workflow.js';

const MAX_METADATA_BYTES = 16 * 1024;
const DEFAULT_CHUNK_TOKENS = 256;
const DEFAULT_OVERLAP = 32;

export type KnowledgeAction = 'knowledge:read' | 'knowledge:write';

/** Records that document `document` was indexed from dataset `datasetId` (its version `from`, or the dataset). */
export type DocumentSourceRecorder = (
  tx: Tx,
  tenantId: string,
  datasetId: string,
  link: { from: string; document: { id: string; label: string; collection_id: string } },
) => Promise<void>;

/**
 * A document as the access check sees it: classification, owner and department (from its
 * metadata) and its collection. Nothing else, so that search can decide once per distinct tuple
 * of these (`accessTupleResource`) what a check on each document would decide.
 */
export const documentResource = (d: DocumentRow): ResourceRef => ({ ...accessTupleResource(d.tenant_id, d), id: d.id });

/** Every document with these attributes, as one resource (id `*`): what search checks. */
export const accessTupleResource = (tenantId: string, t: AccessTuple): ResourceRef => ({
  type: 'Document',
  id: '*',
  tenantId,
  attributes: { classification: t.classification, owner: t.owner, department: t.department, collection: t.collection_id },
});

const collectionResource = (tenantId: string, id: string): ResourceRef => ({
  type: 'Collection',
  id,
  tenantId,
  attributes: { type: 'collection' },
});

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= 200 ? v : undefined);

function checkMetadata(metadata: Record<string, unknown> | undefined): Record<string, unknown> {
  const m = metadata ?? {};
  if (Buffer.byteLength(JSON.stringify(m)) > MAX_METADATA_BYTES)
    throw badRequest(`metadata is larger than ${MAX_METADATA_BYTES} bytes`, [
      { field: 'metadata', code: 'too_large', message: 'metadata is too large' },
    ]);
  return m;
}

/** Collections (knowledge bases) and their documents, through the upload flow and the workflow. */
export class KnowledgeService {
  readonly store: KnowledgeStore;

  constructor(
    private readonly platform: Platform,
    private readonly storage: StorageService,
    private readonly content: ContentService,
    /** Records a document's `source_dataset_id` in that dataset's lineage (the datasets module's). */
    private readonly recordSource?: DocumentSourceRecorder,
  ) {
    this.store = new KnowledgeStore(platform.database.dialect);
    // A PUT through a local pre-signed URL: the document's file is there.
    storage.onUploaded(async (info, tenantId) => {
      const doc = await this.store.documentByKey(this.db, tenantId, info.key);
      if (doc?.status === 'awaiting_upload')
        await this.store.setDocument(this.db, tenantId, doc.id, { status: 'uploaded', size: info.size, updated_at: this.now() }, [
          'awaiting_upload',
        ]);
    });
  }

  private get db() {
    return this.platform.database.db;
  }
  private now() {
    return this.platform.clock.now();
  }

  // ---------------------------------------------------------------- collections

  toCollection(row: CollectionRow, documentCount = 0): Collection {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      chunking: { chunk_tokens: row.chunk_tokens, overlap_tokens: row.overlap_tokens },
      embedding_model: row.embedding_model,
      store_answers: row.store_answers === 1,
      metadata: row.metadata,
      document_count: documentCount,
      created_at: rfc3339(row.created_at),
      updated_at: rfc3339(row.updated_at),
    };
  }

  private chunking(
    input: { chunk_tokens?: number; overlap_tokens?: number },
    base = { chunk_tokens: DEFAULT_CHUNK_TOKENS, overlap_tokens: DEFAULT_OVERLAP },
  ) {
    const c = { ...base, ...input };
    if (c.overlap_tokens >= c.chunk_tokens)
      throw badRequest('chunking.overlap_tokens must be smaller than chunking.chunk_tokens', [
        { field: 'chunking.overlap_tokens', code: 'invalid_value', message: 'overlap must be smaller than the chunk size' },
      ]);
    return c;
  }

  async createCollection(ctx: RequestContext, input: CreateCollection): Promise<Collection> {
    const id = this.platform.ids.new('kb');
    await this.platform.access.check(ctx, 'knowledge:write', collectionResource(ctx.tenantId, '*'));
    const chunking = this.chunking(input.chunking ?? {});
    const now = this.now();
    const row: CollectionRow = {
      id,
      tenant_id: ctx.tenantId,
      name: input.name,
      description: input.description ?? null,
      chunk_tokens: chunking.chunk_tokens,
      overlap_tokens: chunking.overlap_tokens,
      embedding_model: input.embedding_model ?? null,
      store_answers: input.store_answers ? 1 : 0,
      metadata: checkMetadata(input.metadata),
      created_at: now,
      updated_at: now,
    };
    await this.store.insertCollection(this.db, row);
    return this.toCollection(row);
  }

  /** The caller's collection (404 when the tenant has none of that id) once `action` is allowed on it. */
  async collectionRow(ctx: RequestContext, id: string, action: KnowledgeAction): Promise<CollectionRow> {
    const row = await this.store.collection(this.db, ctx.tenantId, id);
    if (!row) throw notFound('Collection');
    await this.platform.access.check(ctx, action, collectionResource(ctx.tenantId, id));
    return row;
  }

  async getCollection(ctx: RequestContext, id: string): Promise<Collection> {
    const row = await this.collectionRow(ctx, id, 'knowledge:read');
    const counts = await this.store.documentCounts(this.db, ctx.tenantId, [id]);
    return this.toCollection(row, counts.get(id) ?? 0);
  }

  async listCollections(ctx: RequestContext, page: PageRequest) {
    await this.platform.access.check(ctx, 'knowledge:read', collectionResource(ctx.tenantId, '*'));
    const r = await this.store.listCollections(this.db, ctx.tenantId, page, this.platform.signer);
    const counts = await this.store.documentCounts(
      this.db,
      ctx.tenantId,
      r.items.map((c) => c.id),
    );
    return { items: r.items.map((c) => this.toCollection(c, counts.get(c.id) ?? 0)), pagination: r.pagination };
  }

  async updateCollection(ctx: RequestContext, id: string, patch: UpdateCollection): Promise<Collection> {
    const row = await this.collectionRow(ctx, id, 'knowledge:write');
    const chunking = this.chunking(patch.chunking ?? {}, { chunk_tokens: row.chunk_tokens, overlap_tokens: row.overlap_tokens });
    const set: Partial<CollectionRow> = {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...(patch.embedding_model !== undefined ? { embedding_model: patch.embedding_model } : {}),
      ...(patch.store_answers !== undefined ? { store_answers: patch.store_answers ? 1 : 0 } : {}),
      ...(patch.metadata !== undefined ? { metadata: checkMetadata(patch.metadata) } : {}),
      chunk_tokens: chunking.chunk_tokens,
      overlap_tokens: chunking.overlap_tokens,
      updated_at: this.now(),
    };
    await this.store.updateCollection(this.db, ctx.tenantId, id, set);
    return this.getCollection(ctx, id);
  }

  async deleteCollection(ctx: RequestContext, id: string): Promise<void> {
    await this.collectionRow(ctx, id, 'knowledge:write');
    const docs = await this.store.documentsOfAnyStatus(this.db, ctx.tenantId, id);
    await this.platform.transaction((tx) => this.store.deleteCollection(tx, ctx.tenantId, id));
    for (const d of docs) if (d.blob_key) await this.storage.delete(d.blob_key).catch(() => undefined);
  }

  // ---------------------------------------------------------------- documents

  toDocument(row: DocumentRow, upload?: { uploadUrl: string; expiresIn: number }): KbDocument {
    return {
      id: row.id,
      collection_id: row.collection_id,
      filename: row.filename,
      content_type: row.content_type,
      size: row.size,
      status: row.status as KbDocument['status'],
      error: row.error,
      content_id: row.content_id,
      chunk_count: row.chunk_count,
      metadata: row.metadata,
      ...(upload ? { upload_url: upload.uploadUrl, upload_expires_in: upload.expiresIn } : {}),
      created_at: rfc3339(row.created_at),
      updated_at: rfc3339(row.updated_at),
    };
  }

  private newDocument(
    ctx: RequestContext,
    collection: CollectionRow,
    input: { filename: string; content_type: string; size?: number; metadata?: Record<string, unknown> },
  ): DocumentRow {
    const metadata = checkMetadata(input.metadata);
    const now = this.now();
    return {
      id: this.platform.ids.new('doc'),
      tenant_id: ctx.tenantId,
      collection_id: collection.id,
      filename: input.filename,
      content_type: input.content_type,
      size: input.size ?? null,
      status: 'awaiting_upload',
      error: null,
      blob_key: null,
      content_id: null,
      markdown: 0,
      chunk_count: 0,
      metadata,
      classification: str(metadata.classification) ?? 'internal',
      owner: str(metadata.owner) ?? ctx.principal.subject,
      department: str(metadata.department) ?? '',
      created_at: now,
      updated_at: now,
    };
  }

  /**
   * A document whose metadata names `source_dataset_id` (and optionally `source_version_id`) was
   * indexed from that dataset: the edge goes into the dataset's lineage, in the document's own
   * transaction (404 when the tenant has no such dataset).
   */
  private async linkSource(tx: Tx, doc: DocumentRow): Promise<void> {
    const datasetId = str(doc.metadata.source_dataset_id);
    if (!datasetId || !this.recordSource) return;
    await this.recordSource(tx, doc.tenant_id, datasetId, {
      from: str(doc.metadata.source_version_id) ?? datasetId,
      document: { id: doc.id, label: doc.filename, collection_id: doc.collection_id },
    });
  }

  /** `POST /api/v1/documents` (JSON): the document and a pre-signed URL to PUT its file to. */
  async createDocument(ctx: RequestContext, input: CreateDocument): Promise<KbDocument> {
    const collection = await this.collectionRow(ctx, input.collection_id, 'knowledge:write');
    if (input.size !== undefined && input.size > this.platform.config.storageMaxFileBytes)
      throw new AppError('payload_too_large', 413, `The file is larger than ${this.platform.config.storageMaxFileBytes} bytes`);
    const doc = this.newDocument(ctx, collection, input);
    await this.platform.access.check(ctx, 'knowledge:write', documentResource(doc));
    const upload = await this.platform.transaction(async (tx) => {
      const issued = await this.storage.issueUploadUrl(ctx.tenantId, doc.filename, doc.content_type, { id: doc.id, tx });
      doc.blob_key = issued.s3Key;
      await this.store.insertDocument(tx, doc);
      await this.linkSource(tx, doc);
      return issued;
    });
    return this.toDocument(doc, upload);
  }

  /** `POST /api/v1/documents` (multipart): stores the file and starts the workflow. */
  async uploadDocument(
    ctx: RequestContext,
    input: { collection_id: string; filename: string; content_type: string; metadata?: Record<string, unknown> },
    body: Buffer | import('node:stream').Readable,
  ): Promise<KbDocument> {
    const collection = await this.collectionRow(ctx, input.collection_id, 'knowledge:write');
    this.requireJobs();
    const doc = this.newDocument(ctx, collection, input);
    await this.platform.access.check(ctx, 'knowledge:write', documentResource(doc));
    const key = this.storage.newKey(ctx.tenantId, doc.filename, doc.id);
    const info = await this.storage.put(ctx.tenantId, key, body, doc.content_type);
    Object.assign(doc, { blob_key: key, size: info.size, status: 'uploaded' });
    try {
      await this.platform.transaction(async (tx) => {
        await this.store.insertDocument(tx, doc);
        await this.linkSource(tx, doc);
        await this.enqueue(tx, doc, 'extract');
      });
    } catch (err) {
      // No document (an unknown source dataset, …): the stored file goes too.
      await this.storage.delete(key).catch(() => undefined);
      throw err;
    }
    return this.toDocument(doc);
  }

  /** Adds a content item (ingested through the Atriumn routes) to a collection, by its extracted text. */
  async addContentItem(ctx: RequestContext, collectionId: string, input: AddContentItem): Promise<KbDocument> {
    const collection = await this.collectionRow(ctx, collectionId, 'knowledge:write');
    const item = await this.content.get(ctx, input.content_id);
    if (item.status !== 'COMPLETED') throw conflict(`The content item is ${item.status}: it can be added once processed`);
    const text = await this.content.getText(ctx, input.content_id);
    const filename = item.title ?? item.sourceUri ?? item.id;
    const doc = this.newDocument(ctx, collection, {
      filename: String(filename).slice(0, 255) || item.id,
      content_type: item.contentType,
      size: Buffer.byteLength(text),
      metadata: { ...(item.metadata ?? {}), ...(input.metadata ?? {}) },
    });
    await this.platform.access.check(ctx, 'knowledge:write', documentResource(doc));
    Object.assign(doc, { content_id: item.id, status: 'processing' });
    await this.platform.transaction(async (tx) => {
      await this.store.insertDocument(tx, { ...doc, text });
      await this.linkSource(tx, doc);
      await this.enqueue(tx, doc, 'chunk');
    });
    return this.toDocument(doc);
  }

  /** The caller's document, once `action` is allowed on it (404 when not found). */
  async documentRow(ctx: RequestContext, id: string, action: KnowledgeAction): Promise<DocumentRow> {
    const row = await this.store.document(this.db, ctx.tenantId, id);
    if (!row) throw notFound('Document');
    await this.platform.access.check(ctx, action, documentResource(row));
    return row;
  }

  /** `POST /api/v1/documents/{id}/complete`: the file is uploaded; the workflow starts. */
  async completeUpload(ctx: RequestContext, id: string): Promise<KbDocument> {
    const doc = await this.documentRow(ctx, id, 'knowledge:write');
    if (doc.status !== 'awaiting_upload' && doc.status !== 'uploaded') return this.toDocument(doc);
    if (doc.status === 'awaiting_upload') {
      const info = doc.blob_key ? await this.storage.confirmUpload(doc.blob_key) : undefined;
      if (!info) throw conflict('The file has not been uploaded yet: PUT it to the upload_url first');
      doc.size = info.size;
    }
    await this.platform.transaction(async (tx) => {
      const moved = await this.store.setDocument(tx, ctx.tenantId, id, { status: 'uploaded', size: doc.size, updated_at: this.now() }, [
        'awaiting_upload',
        'uploaded',
      ]);
      if (moved) await this.enqueue(tx, doc, 'extract');
    });
    return this.toDocument((await this.store.document(this.db, ctx.tenantId, id)) ?? doc);
  }

  /** Runs the workflow again from extraction (or chunking, for text kept from a content item). */
  async reindex(ctx: RequestContext, id: string): Promise<KbDocument> {
    const doc = await this.documentRow(ctx, id, 'knowledge:write');
    if (doc.status === 'awaiting_upload') throw conflict('The file has not been uploaded yet');
    await this.platform.transaction(async (tx) => {
      await this.store.setDocument(tx, ctx.tenantId, id, { status: 'uploaded', error: null, updated_at: this.now() });
      await this.enqueue(tx, doc, doc.blob_key ? 'extract' : 'chunk');
    });
    return this.toDocument((await this.store.document(this.db, ctx.tenantId, id)) ?? doc);
  }

  async getDocument(ctx: RequestContext, id: string): Promise<KbDocument> {
    return this.toDocument(await this.documentRow(ctx, id, 'knowledge:read'));
  }

  /** A page of documents; those the access check does not let the caller read are left out. */
  async listDocuments(ctx: RequestContext, filter: { collectionId?: string; status?: string }, page: PageRequest) {
    if (filter.collectionId) await this.collectionRow(ctx, filter.collectionId, 'knowledge:read');
    const r = await this.store.listDocuments(this.db, ctx.tenantId, filter, page, this.platform.signer);
    const items: KbDocument[] = [];
    for (const d of r.items)
      if (await this.platform.access.allows(ctx, 'knowledge:read', documentResource(d))) items.push(this.toDocument(d));
    return { items, pagination: r.pagination };
  }

  async deleteDocument(ctx: RequestContext, id: string): Promise<void> {
    const doc = await this.documentRow(ctx, id, 'knowledge:write');
    await this.platform.transaction((tx) => this.store.deleteDocument(tx, ctx.tenantId, id));
    if (doc.blob_key) await this.storage.delete(doc.blob_key).catch(() => undefined);
  }

  /** 503 while this process's job queue is stopped (shutting down): the workflow could not run. */
  private requireJobs(): void {
    if (this.platform.jobs.stopped)
      throw new AppError('jobs_unavailable', 503, 'The job queue is stopped (the server is shutting down); retry shortly', undefined, {
        'retry-after': '5',
      });
  }

  /** Queues the workflow step `step` for the document (one job per step; a key per document and step). */
  enqueue(tx: Executor, doc: Pick<DocumentRow, 'id' | 'tenant_id'>, step: keyof typeof STEP_JOBS): Promise<unknown> {
    this.requireJobs();
    const payload: StepPayload = { tenantId: doc.tenant_id, documentId: doc.id };
    return this.platform.jobs.enqueue(tx, STEP_JOBS[step], payload, { tenantId: doc.tenant_id, key: `${STEP_JOBS[step]}:${doc.id}` });
  }
}
