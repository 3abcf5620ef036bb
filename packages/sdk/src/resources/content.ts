import type {
  BatchIngestRequest,
  BatchIngestResponse,
  ContentItem,
  ContentSourceType,
  ContentSearchHit,
  ContentStats,
  ContentStatus,
  EnvelopeOf,
  IngestResponse,
} from '@loam/api';
import { type APIPromise, APIResource, dataOf, path, type RequestOptions } from '../core.js';
import { LoamError } from '../errors.js';
import { type PagePromise, tokenList } from '../pagination.js';
import { type UploadProgress, type Uploadable, guessContentType, toUploadSource } from '../uploads.js';
import { putUpload } from './storage.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

export interface IngestCommon {
  tenantId?: string;
  userId?: string;
  metadata?: Record<string, string>;
  /** Receives a signed POST when the item reaches COMPLETED or ERROR. */
  callbackUrl?: string;
}

export interface WaitOptions {
  /** Give up after this many milliseconds (default 5 minutes). */
  timeoutMs?: number;
  /** First poll interval; it grows to 2 s (default 250 ms). */
  pollIntervalMs?: number;
  signal?: AbortSignal;
}

export interface ContentListQuery {
  /** Case-insensitive; `processed` means COMPLETED. */
  status?: ContentStatus | Lowercase<ContentStatus> | 'processed';
  sourceType?: ContentSourceType | Lowercase<ContentSourceType>;
  /** Page size, 1–100 (default 20). */
  limit?: number;
}

export type { ContentItem, ContentStatus, IngestResponse };

/** Processing of an item ended in `ERROR`; `item.error` says why. */
export class ContentProcessingError extends LoamError {
  override name = 'ContentProcessingError';
  constructor(readonly item: ContentItem) {
    super(`Content ${item.id} failed: ${item.error ?? 'unknown error'}`);
  }
}

type Waited<W, T> = W extends true ? ContentItem : T;

/** Ingestion and content items (the Atriumn ingest service: `/ingest/*`, `/content*`). */
export class Content extends APIResource {
  /**
   * Ingests text inline; with `wait: true` resolves once it is COMPLETED.
   * @example const item = await loam.content.ingestText({ content: 'Loam keeps data close.', metadata: { source: 'notes' } }, { wait: true });
   */
  async ingestText<W extends boolean = false>(
    body: { content: string } & IngestCommon,
    options: Opts & { wait?: W } & WaitOptions = {},
  ): Promise<Waited<W, IngestResponse>> {
    const res = await this.client.request<IngestResponse>('POST', '/ingest/text', { ...options, body });
    return (options.wait ? this.waitUntilProcessed(res.id, options) : res) as Promise<Waited<W, IngestResponse>>;
  }

  /**
   * Ingests a web page or file by URL; Loam fetches it asynchronously (SSRF-safe).
   * @example const { id } = await loam.content.ingestUrl({ url: 'https://example.com/article' });
   */
  async ingestUrl<W extends boolean = false>(
    body: { url: string; sourceSubType?: string; userNotes?: string } & IngestCommon,
    options: Opts & { wait?: W } & WaitOptions = {},
  ): Promise<Waited<W, IngestResponse>> {
    const res = await this.client.request<IngestResponse>('POST', '/ingest/url', { ...options, body });
    return (options.wait ? this.waitUntilProcessed(res.id, options) : res) as Promise<Waited<W, IngestResponse>>;
  }

  /**
   * Uploads a file in one call: asks for an upload URL, PUTs the bytes (a Blob, bytes, a stream,
   * or a path with `@loam/sdk/node`), and with `wait: true` resolves once the item is COMPLETED.
   * @example
   * const item = await loam.content.ingestFile(new File([pdfBytes], 'report.pdf'), { wait: true, onProgress: (p) => console.log(p.loaded) });
   */
  async ingestFile<W extends boolean = false>(
    file: Uploadable,
    options: Opts &
      IngestCommon & {
        filename?: string;
        contentType?: string;
        onProgress?: (p: UploadProgress) => void;
        wait?: W;
      } & WaitOptions = {},
  ): Promise<Waited<W, IngestResponse>> {
    const source = await toUploadSource(file, this.client.fileResolver);
    const filename = options.filename ?? source.name ?? 'upload.bin';
    const contentType = options.contentType ?? source.type ?? guessContentType(filename);
    const { tenantId, userId, metadata, callbackUrl } = options;
    const res = await this.client.request<IngestResponse>('POST', '/ingest/file', {
      ...pickRequest(options),
      body: { filename, contentType, ...defined({ tenantId, userId, metadata, callbackUrl }) },
    });
    if (!res.uploadUrl) throw new LoamError(`The server gave no upload URL for ${res.id}`);
    await putUpload(this.client, res.uploadUrl, source, contentType, options);
    // With S3 storage Loam does not see the PUT; confirming is harmless (idempotent) with local storage.
    const item = await this.complete(res.id, pickRequest(options));
    const { uploadUrl: _spent, ...rest } = res;
    return (options.wait ? this.waitUntilProcessed(res.id, options) : { ...rest, status: item.status }) as Promise<
      Waited<W, IngestResponse>
    >;
  }

  /**
   * Ingests up to 100 text or URL items in one call, with a result per item.
   * @example const { succeeded, results } = await loam.content.batch({ items: [{ content: 'a' }, { url: 'https://example.com' }] });
   */
  batch(body: BatchIngestRequest, options?: Opts): APIPromise<BatchIngestResponse> {
    return this.client.request('POST', '/ingest/batch', { ...options, body });
  }

  /**
   * Full-text search over the extracted text of COMPLETED items.
   * @example for (const hit of await loam.content.search('retention policy')) console.log(hit.id, hit.snippet);
   */
  search(q: string, options: Opts & { limit?: number } = {}): APIPromise<ContentSearchHit[]> {
    return dataOf(
      this.client.request<EnvelopeOf<ContentSearchHit[]>>('GET', '/api/v1/content/search', {
        ...pickRequest(options),
        query: { q, limit: options.limit },
      }),
    );
  }

  /**
   * Tells Loam an upload finished (needed with S3 storage, where Loam does not see the PUT; the
   * SDK's `ingestFile` does it for you).
   * @example await loam.content.complete('cnt_01…');
   */
  complete(id: string, options?: Opts): APIPromise<ContentItem> {
    return this.client.request('POST', path`/content/${id}/complete`, { ...options, body: {} });
  }

  /** Counts per status and source type, and stored bytes. @example const { by_status } = await loam.content.stats(); */
  stats(options?: Opts): APIPromise<ContentStats> {
    return dataOf(this.client.request<EnvelopeOf<ContentStats>>('GET', '/api/v1/content/stats', options));
  }

  /**
   * Lists items, newest first, filtered by status and source type.
   * @example for await (const item of loam.content.list({ status: 'COMPLETED' })) console.log(item.id, item.title);
   */
  list(query: ContentListQuery = {}): PagePromise<ContentItem> {
    return tokenList(this.client, '/content', 'items', { ...query });
  }

  /** @example const item = await loam.content.get('cnt_01…'); */
  get(id: string, options?: Opts): APIPromise<ContentItem> {
    return this.client.request('GET', path`/content/${id}`, options);
  }

  /**
   * Changes `sourceUri` and merges `metadata` (a key set to `""` is removed).
   * @example await loam.content.update('cnt_01…', { metadata: { reviewed: 'yes', draft: '' } });
   */
  update(id: string, body: { sourceUri?: string; metadata?: Record<string, string> }, options?: Opts): APIPromise<ContentItem> {
    return this.client.request('PATCH', path`/content/${id}`, { ...options, body });
  }

  /** Deletes the item, its blob, its text and its index entries. @example await loam.content.delete('cnt_01…'); */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/content/${id}`, options);
  }

  /** The extracted text (or the raw text of TEXT items). @example const text = await loam.content.text('cnt_01…'); */
  async text(id: string, options?: Opts): Promise<string> {
    return (await this.client.request<{ content: string }>('GET', path`/content/${id}/text`, options)).content;
  }

  /** Replaces the text of a TEXT item and re-indexes it. @example await loam.content.setText('cnt_01…', 'corrected text'); */
  async setText(id: string, content: string, options?: Opts): Promise<void> {
    await this.client.request('PUT', path`/content/${id}/text`, { ...options, body: { content } });
  }

  /** A pre-signed URL of the original bytes. @example const url = await loam.content.downloadUrl('cnt_01…'); */
  async downloadUrl(id: string, options?: Opts): Promise<string> {
    return (await this.client.request<{ downloadUrl: string }>('GET', path`/content/${id}/download-url`, options)).downloadUrl;
  }

  /**
   * The tenant's secret that signs processing callbacks (verify them with it).
   * @example const { secret } = await loam.content.callbackSecret();
   */
  callbackSecret(options?: Opts): APIPromise<{ secret: string }> {
    return dataOf(this.client.request<EnvelopeOf<{ secret: string }>>('GET', '/api/v1/content/callback-secret', options));
  }

  /**
   * Polls until the item is COMPLETED (resolves) or ERROR (throws {@link ContentProcessingError}).
   * @example const item = await loam.content.waitUntilProcessed(id, { timeoutMs: 60_000 });
   */
  waitUntilProcessed(id: string, options: WaitOptions = {}): Promise<ContentItem> {
    return pollUntil(
      () => this.get(id, { signal: options.signal }),
      options,
      (item) => {
        if (item.status === 'COMPLETED') return true;
        if (item.status === 'ERROR') throw new ContentProcessingError(item);
        return false;
      },
      `content ${id}`,
    );
  }
}

const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

function pickRequest(o: Opts): Opts {
  return { signal: o.signal, timeout: o.timeout, maxRetries: o.maxRetries };
}

/** Polls `get` with a growing interval until `done` says so, the deadline passes or the signal aborts. */
export async function pollUntil<T>(get: () => Promise<T>, options: WaitOptions, done: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let interval = options.pollIntervalMs ?? 250;
  for (;;) {
    const value = await get();
    if (done(value)) return value;
    if (Date.now() + interval > deadline) throw new LoamError(`Gave up waiting for ${what} after ${options.timeoutMs ?? 300_000} ms`);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, interval);
      options.signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(new LoamError(`Stopped waiting for ${what}: aborted`));
        },
        { once: true },
      );
    });
    interval = Math.min(interval * 1.5, 2000);
  }
}
