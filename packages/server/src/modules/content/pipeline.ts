import type { ContentCallback } from '@loam/api';
import { type BlobInfo, BlobTooLargeError } from '../../platform/blob/index.js';
import { hmacSha256 } from '../../platform/crypto/index.js';
import type { Executor } from '../../platform/db/index.js';
import { FetchError, type Resolver, safeFetch } from '../../platform/fetch/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import { type JobContext, PermanentJobError } from '../../platform/jobs/queue.js';
import type { StorageService } from '../storage/service.js';
import { ExtractionError, type Extracted, decodeText } from './extract.js';
import { ExtractionInterrupted, ExtractionPool } from './isolate.js';
import { detectLanguage } from './language.js';
import type { ContentRow, ContentStore, ProcessedValues } from './store.js';

export const PROCESS_JOB = 'content.process';
export const CALLBACK_JOB = 'content.callback';
export const SIGNATURE_HEADER = 'x-loam-signature';

/** The key of an item's processing job: one queued or running at a time. */
export const processKey = (itemId: string): string => `content:${itemId}`;

/** Media types a URL may answer with (anything else is refused before it is read). */
export const FETCHABLE_TYPES = [
  'text/*',
  'application/xhtml+xml',
  'application/json',
  'application/ld+json',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/octet-stream',
];

/** Test-only knobs of the URL fetcher: tests reach their own fixture server on 127.0.0.1. */
export interface FetchPolicy {
  allowLoopback?: boolean;
  resolve?: Resolver;
}

export interface ProcessPayload {
  itemId: string;
  tenantId: string;
}

interface CallbackPayload {
  tenantId: string;
  itemId: string;
  url: string;
  body: string;
}

function filenameOfUrl(url: string): string {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).pop();
    return last ? decodeURIComponent(last) : 'page';
  } catch {
    return 'page';
  }
}

/** The data of a content item's CloudEvents. */
export function contentEventData(row: ContentRow) {
  return {
    id: row.id,
    sourceType: row.source_type,
    status: row.status,
    contentType: row.content_type,
    size: row.size,
    userId: row.user_id,
  };
}

/**
 * The processing pipeline of content items (fetch, detect, extract, normalize, index) as jobs,
 * and the signed callbacks that report their outcome. ContentService creates items and enqueues
 * their processing; this class runs it.
 */
export class ContentPipeline {
  private pool: ExtractionPool | undefined;

  constructor(
    private readonly platform: Platform,
    private readonly storage: StorageService,
    private readonly store: ContentStore,
    /** Test-only: see FetchPolicy (shared with ContentService.fetchPolicy). */
    private readonly fetchPolicy: FetchPolicy,
  ) {}

  /** The worker threads documents are extracted in (started on first use). */
  get extraction(): ExtractionPool {
    this.pool ??= new ExtractionPool({
      timeoutMs: this.config.contentExtractTimeoutMs,
      memoryMb: this.config.contentExtractMemoryMb,
      workers: this.config.contentExtractWorkers,
    });
    return this.pool;
  }

  /** Stops the extraction worker threads. */
  async close(): Promise<void> {
    await this.pool?.close();
    this.pool = undefined;
  }

  private get db() {
    return this.platform.database.db;
  }
  private get config() {
    return this.platform.config;
  }

  registerJobs(): void {
    this.platform.jobs.register<ProcessPayload>(PROCESS_JOB, (ctx) => this.processJob(ctx), {
      maxAttempts: 5,
      backoffMs: 2000,
      // Items are PROCESSING from the moment their jobs are claimed, in the claim's commit.
      onClaim: (tx, jobs) => this.markProcessing(tx, jobs),
    });
    this.platform.jobs.register<CallbackPayload>(CALLBACK_JOB, (ctx) => this.callbackJob(ctx), { maxAttempts: 6, backoffMs: 5000 });
  }

  /** The key callbacks of the tenant are signed with (HMAC-SHA256, see SIGNATURE_HEADER). */
  callbackSecret(tenantId: string): string {
    return this.platform.signer.derive(`content-callback:${tenantId}`).toString('base64url');
  }

  // ---------------------------------------------------------------- processing

  /** PENDING (or, after a lost lease, PROCESSING) items of claimed jobs → PROCESSING (item ids are unique across tenants). */
  private async markProcessing(tx: Executor, jobs: { payload: ProcessPayload }[]): Promise<void> {
    await this.store.markProcessing(
      tx,
      jobs.map((j) => j.payload),
      this.platform.clock.now(),
    );
  }

  private async processJob({ job, signal, complete }: JobContext<ProcessPayload>): Promise<unknown> {
    const { itemId, tenantId } = job.payload;
    let claimed = await this.store.get(this.db, tenantId, itemId);
    // Moved back to PENDING (its text replaced) since the claim: PROCESSING again, as at a claim.
    if (claimed?.status === 'PENDING') claimed = await this.store.claim(this.db, tenantId, itemId, this.platform.clock.now());
    // Deleted, or already finished by an earlier run whose completion was recorded.
    if (claimed?.status !== 'PROCESSING') return { skipped: true };
    const row = claimed;
    try {
      const source = await this.loadSource(row, signal);
      // In a worker thread with a heap cap and a deadline: the event loop (and the job's lease
      // heartbeat) keeps running while a large document is read.
      const extracted = await this.extraction.extract(
        source.bytes,
        source.contentType,
        source.filename,
        {
          ocr: this.config.contentOcr === 'tesseract' ? 'tesseract' : 'off',
          maxChars: this.config.contentMaxExtractedChars,
          timeoutMs: this.config.contentExtractTimeoutMs,
        },
        signal,
      );
      // The job's success commits with the item's completion.
      const status = await this.complete(row, source, extracted, (tx) => complete(tx, { status: 'COMPLETED' }));
      // Deleted while processing: the file this run stored has no owner any more.
      if (status === 'skipped' && source.stored && !(await this.store.get(this.db, tenantId, itemId)))
        await this.storage.delete(source.stored.key);
      return { status };
    } catch (err) {
      const transient = isTransient(err);
      if (transient && job.attempts < job.maxAttempts) {
        // Back to PENDING while the retry waits, so nothing looks stuck in PROCESSING.
        await this.store.requeue(this.db, tenantId, itemId, this.platform.clock.now());
        throw err;
      }
      if (!(err instanceof FetchError || err instanceof ExtractionError || err instanceof AppError))
        this.platform.log.error({ err, item: itemId }, 'content processing failed');
      const message = describeFailure(err, job.attempts);
      const result = { status: 'ERROR', error: message };
      await this.fail(row, message, (tx) => complete(tx, result));
      return result;
    }
  }

  private async loadSource(
    row: ContentRow,
    signal: AbortSignal,
  ): Promise<{ bytes: Buffer; contentType: string; filename: string; stored?: BlobInfo; raw?: string; rawInStore?: boolean }> {
    if (row.source_type === 'URL') {
      const res = await safeFetch(row.source_uri, {
        timeoutMs: this.config.fetchTimeoutMs,
        maxBytes: this.config.fetchMaxBytes,
        allowedContentTypes: FETCHABLE_TYPES,
        signal,
        ...this.fetchPolicy,
      });
      const filename = filenameOfUrl(res.url);
      const contentType = String(res.headers['content-type'] ?? '') || 'application/octet-stream';
      // The fetched original is kept, so download-url serves what was ingested.
      const stored = await this.storage.put(
        row.tenant_id,
        row.s3_key ?? this.storage.newKey(row.tenant_id, filename, row.id),
        res.body,
        contentType,
      );
      return { bytes: res.body, contentType, filename, stored };
    }
    if (row.source_type === 'TEXT') {
      const raw = await this.store.text(this.db, row.tenant_id, row.id);
      // Inline (or replaced) text: its file is written on the first download (inlineTextObject).
      if (raw !== undefined)
        return { bytes: Buffer.from(raw, 'utf8'), contentType: row.content_type, filename: 'content.txt', raw, rawInStore: true };
    }
    if (!row.s3_key) throw new ExtractionError('The item has no stored file');
    let bytes: Buffer | undefined;
    try {
      bytes = await this.platform.blob.read(row.s3_key, { maxBytes: this.config.storageMaxFileBytes });
    } catch (err) {
      if (err instanceof BlobTooLargeError) throw new ExtractionError(`The file is larger than ${this.config.storageMaxFileBytes} bytes`);
      throw err;
    }
    if (!bytes) throw new ExtractionError('The uploaded file is missing from storage');
    const filename = row.s3_key.split('/').pop() ?? '';
    return {
      bytes,
      contentType: row.content_type,
      filename,
      raw: row.source_type === 'TEXT' ? decodeText(bytes, row.content_type) : undefined,
    };
  }

  /**
   * Records the extracted text, indexes it, and marks the item COMPLETED; returns the final status.
   * `done` runs last in the same transaction when the item was completed (the job's own record).
   */
  private async complete(
    row: ContentRow,
    source: { stored?: BlobInfo; raw?: string; rawInStore?: boolean; contentType: string },
    extracted: Extracted & { wordCount: number },
    done: (tx: Executor) => Promise<void>,
  ): Promise<string> {
    const text = extracted.text;
    // Detected before the transaction: its tables load on first use, and a transaction must not wait.
    const language = (await detectLanguage(text)) ?? null;
    const now = this.platform.clock.now();
    return this.platform.transaction(async (tx) => {
      const values: ProcessedValues = {
        title: extracted.title?.slice(0, 500) ?? null,
        word_count: extracted.wordCount,
        language,
        page_count: extracted.pageCount ?? null,
        detected_type: extracted.type,
        warning: extracted.warning?.slice(0, 500) ?? null,
      };
      if (source.stored) Object.assign(values, { s3_key: source.stored.key, size: source.stored.size, content_type: source.contentType });
      const item = await this.store.completed(tx, row.tenant_id, row.id, values, now);
      if (!item) return 'skipped'; // deleted or changed while processing
      // TEXT items keep their raw text (that is what GET text returns); others the extracted text.
      const stored = row.source_type === 'TEXT' ? (source.raw ?? text) : text;
      // Text read from the store is still there unchanged: a replacement would have moved the item
      // back to PENDING, and the update above would have matched nothing.
      if (!(row.source_type === 'TEXT' && source.rawInStore)) await this.store.putText(tx, row.tenant_id, row.id, stored, now);
      await this.store.index(tx, row.tenant_id, row.id, [extracted.title ?? '', text].join('\n'));
      await this.platform.events.emit(
        tx,
        'content.processed',
        row.id,
        { ...contentEventData(item), title: item.title, wordCount: item.word_count, language: item.language, pageCount: item.page_count },
        { tenantId: row.tenant_id },
      );
      await this.enqueueCallback(tx, item);
      await done(tx);
      return 'COMPLETED';
    });
  }

  /** Moves the item to ERROR (unless it is gone or finished); `done` runs last in the same transaction. */
  async fail(row: ContentRow, message: string, done?: (tx: Executor) => Promise<void>): Promise<void> {
    await this.platform.transaction(async (tx) => {
      const item = await this.store.failed(tx, row.tenant_id, row.id, message.slice(0, 2000), this.platform.clock.now());
      if (!item) {
        await done?.(tx);
        return;
      }
      await this.platform.events.emit(
        tx,
        'content.failed',
        row.id,
        { ...contentEventData(item), error: item.error },
        { tenantId: row.tenant_id },
      );
      await this.enqueueCallback(tx, item);
      await done?.(tx);
    });
  }

  /**
   * Items left PENDING or PROCESSING with no queued or running job — their job died after its
   * last attempt (e.g. its worker crashed every time) — are moved to ERROR. Returns how many.
   */
  async failAbandoned(): Promise<number> {
    const cutoff = this.platform.clock.now() - 2 * this.config.jobLeaseMs;
    const abandoned: ContentRow[] = [];
    // Page by id through the stale items, skipping those whose job is still queued or running.
    for (let after = ''; abandoned.length < 500; ) {
      const rows = await this.store.staleItems(this.db, cutoff, after, 500);
      const active = await this.platform.jobs.activeKeys(rows.map((r) => processKey(r.id)));
      abandoned.push(...rows.filter((r) => !active.has(processKey(r.id))));
      if (rows.length < 500) break;
      after = rows[rows.length - 1].id;
    }
    const failing = abandoned.slice(0, 500);
    for (const row of failing) await this.fail(row, 'Processing was interrupted too many times (the worker stopped each time)');
    return failing.length;
  }

  // ---------------------------------------------------------------- callbacks

  private async enqueueCallback(tx: Executor, item: ContentRow): Promise<void> {
    if (!item.callback_url) return;
    const body: ContentCallback = {
      type: item.status === 'COMPLETED' ? 'content.processed' : 'content.failed',
      id: item.id,
      tenantId: item.tenant_id,
      status: item.status,
      ...(item.error ? { error: item.error } : {}),
      timestamp: rfc3339(this.platform.clock.now()),
    };
    await this.platform.jobs.enqueue<CallbackPayload>(
      tx,
      CALLBACK_JOB,
      { tenantId: item.tenant_id, itemId: item.id, url: item.callback_url, body: JSON.stringify(body) },
      { tenantId: item.tenant_id },
    );
  }

  /** `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` keyed with the tenant's callback secret. */
  signCallback(tenantId: string, body: string, unixSeconds: number): string {
    const mac = hmacSha256(this.callbackSecret(tenantId), `${unixSeconds}.${body}`).toString('hex');
    return `t=${unixSeconds},v1=${mac}`;
  }

  private async callbackJob({ job, signal }: JobContext<CallbackPayload>): Promise<unknown> {
    const { tenantId, url, body } = job.payload;
    const signature = this.signCallback(tenantId, body, Math.floor(this.platform.clock.now() / 1000));
    try {
      const res = await safeFetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signature },
        timeoutMs: this.config.fetchTimeoutMs,
        maxBytes: 64 * 1024,
        signal,
        ...this.fetchPolicy,
      });
      return { status: res.status };
    } catch (err) {
      if (err instanceof FetchError && !err.transient) throw new PermanentJobError(err.message);
      throw err;
    }
  }
}

function isTransient(err: unknown): boolean {
  if (err instanceof FetchError) return err.transient;
  if (err instanceof ExtractionInterrupted) return true;
  if (err instanceof ExtractionError || err instanceof AppError || err instanceof BlobTooLargeError) return false;
  return true;
}

function describeFailure(err: unknown, attempts: number): string {
  if (err instanceof FetchError) return `Could not fetch the URL: ${err.message}`;
  if (err instanceof ExtractionError) return err.message;
  if (err instanceof AppError) return err.detail;
  return `Processing failed after ${attempts} attempts (internal error)`;
}
