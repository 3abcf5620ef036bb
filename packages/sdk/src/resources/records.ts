import type {
  CreateExport,
  DatasetExport,
  DatasetImport,
  DatasetRecord,
  EnvelopeOf,
  ImportError,
  Job,
  InsertRecordsResult,
  ListRecordsQuery,
  NewRecord,
  RecordFilter,
  RecordQuery,
} from '@loam/api';
import { type APIPromise, APIResource, dataOf, type LoamCore, path, type RequestOptions } from '../core.js';
import { LoamError } from '../errors.js';
import { cursorList, type PagePromise } from '../pagination.js';
import { type UploadProgress, type Uploadable, toUploadSource } from '../uploads.js';
import { type WaitOptions, pollUntil } from './content.js';
import { Jobs } from './jobs.js';
import { Storage, putUpload } from './storage.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** The server's per-call limit: larger inserts are split into calls of this size. */
export const MAX_RECORDS_PER_CALL = 10_000;

export type { DatasetRecord, NewRecord, RecordFilter };

/** Records of a dataset (`/api/v1/datasets/{id}/records`). */
export class Records extends APIResource {
  private readonly jobs: Jobs;
  private readonly storage: Storage;

  constructor(client: LoamCore) {
    super(client);
    this.jobs = new Jobs(client);
    this.storage = new Storage(client);
  }

  /**
   * Inserts any number of records, in atomic calls of at most 10,000 (each call all-or-nothing;
   * each carries its own Idempotency-Key so a retried call never inserts twice).
   * @example
   * const { inserted, ids } = await loam.records.insertMany('ds_01…', rows.map((data) => ({ data })), {
   *   onProgress: (done, total) => console.log(`${done}/${total}`),
   * });
   */
  async insertMany(
    datasetId: string,
    records: readonly NewRecord[],
    options: Opts & { chunkSize?: number; onProgress?: (inserted: number, total: number) => void } = {},
  ): Promise<InsertRecordsResult> {
    const size = Math.min(options.chunkSize ?? MAX_RECORDS_PER_CALL, MAX_RECORDS_PER_CALL);
    if (!(size >= 1)) throw new LoamError('chunkSize must be at least 1');
    const result: InsertRecordsResult = { inserted: 0, ids: [] };
    for (let i = 0; i < records.length; i += size) {
      const chunk = records.slice(i, i + size);
      const done = await dataOf(
        this.client.request<EnvelopeOf<InsertRecordsResult>>('POST', path`/api/v1/datasets/${datasetId}/records`, {
          signal: options.signal,
          timeout: options.timeout,
          maxRetries: options.maxRetries,
          body: chunk,
        }),
      );
      result.inserted += done.inserted;
      result.ids.push(...done.ids);
      options.onProgress?.(result.inserted, records.length);
    }
    return result;
  }

  /** @example const rec = await loam.records.get('ds_01…', 'rec_01…', { version: 'ver_01…' }); */
  get(datasetId: string, recordId: string, query: { version?: string } = {}, options?: Opts): APIPromise<DatasetRecord> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetRecord>>('GET', path`/api/v1/datasets/${datasetId}/records/${recordId}`, { ...options, query }),
    );
  }

  /**
   * Merges `data` into the record (a `null` removes a field); pass `ifMatch` (the record's ETag) to fail with 412 on a concurrent change.
   * @example await loam.records.update('ds_01…', 'rec_01…', { age: 43, nickname: null });
   */
  update(
    datasetId: string,
    recordId: string,
    data: Record<string, unknown>,
    options?: Opts & { ifMatch?: string },
  ): APIPromise<DatasetRecord> {
    return dataOf(
      this.client.request<EnvelopeOf<DatasetRecord>>('PATCH', path`/api/v1/datasets/${datasetId}/records/${recordId}`, {
        ...options,
        body: { data },
        headers: { 'if-match': options?.ifMatch },
      }),
    );
  }

  /** @example await loam.records.delete('ds_01…', 'rec_01…'); */
  async delete(datasetId: string, recordId: string, options?: Opts & { ifMatch?: string }): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/datasets/${datasetId}/records/${recordId}`, {
      ...options,
      headers: { 'if-match': options?.ifMatch },
    });
  }

  /**
   * Queries with a JSON filter (`$eq $ne $gt $gte $lt $lte $in $nin $contains $startsWith $exists $and $or $not`).
   * @example for await (const r of loam.records.query('ds_01…', { filter: { age: { $gte: 18 } }, sort: '-age' })) console.log(r);
   */
  query(datasetId: string, query: Omit<RecordQuery, 'cursor'> = {}): PagePromise<DatasetRecord> {
    return cursorList(this.client, path`/api/v1/datasets/${datasetId}/records/query`, {}, { body: { ...query } });
  }

  /** Lists records with the filter in the query string. @example const page = await loam.records.list('ds_01…', { limit: 50 }); */
  list(
    datasetId: string,
    query: Omit<ListRecordsQuery, 'filter' | 'fields' | 'cursor'> & { filter?: RecordFilter; fields?: string[] } = {},
  ): PagePromise<DatasetRecord> {
    const { filter, fields, ...rest } = query;
    return cursorList(this.client, path`/api/v1/datasets/${datasetId}/records`, {
      ...rest,
      filter: filter ? JSON.stringify(filter) : undefined,
      fields: fields?.join(','),
    });
  }

  /**
   * Starts an export job. `exportId` names the file: see {@link getExport} and {@link download}.
   * @example const { job, exportId } = await loam.records.export('ds_01…', { format: 'csv' });
   */
  async export(datasetId: string, body: CreateExport = {}, options?: Opts): Promise<{ job: Job; exportId: string }> {
    const res = await this.client.request<EnvelopeOf<Job>>('POST', path`/api/v1/datasets/${datasetId}/records/export`, {
      ...options,
      body,
    });
    return { job: res.data, exportId: lastSegment(res.links?.export, 'export') };
  }

  /** An export's state, counts and download URL. @example const { status, record_count } = await loam.records.getExport('exp_01…'); */
  getExport(exportId: string, options?: Opts): APIPromise<DatasetExport> {
    return dataOf(this.client.request<EnvelopeOf<DatasetExport>>('GET', path`/api/v1/exports/${exportId}`, options));
  }

  /**
   * Exports, waits until the file is ready and returns its bytes as a stream.
   * @example
   * const body = await loam.records.download('ds_01…', { format: 'ndjson' });
   * for await (const chunk of body) process.stdout.write(chunk);
   */
  async download(datasetId: string, body: CreateExport = {}, options: Opts & WaitOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const { job, exportId } = await this.export(datasetId, body, options);
    await this.jobs.wait(job.id, options);
    const response = await this.client.requestResponse('GET', path`/api/v1/exports/${exportId}/download`, {
      signal: options.signal,
      headers: { accept: '*/*' },
    });
    if (!response.body) throw new LoamError('Empty export');
    return response.body;
  }

  /**
   * Imports an NDJSON or CSV file (a Blob, bytes, a stream, or a path with `@loam/sdk/node`): the
   * file goes to the blob store through a pre-signed URL (so it may be large), then an import job
   * reads it, atomically per chunk. With `wait: true` resolves when it is done (`processed`,
   * `failed`, `total`; see {@link importErrors}).
   * @example const imp = await loam.records.import('ds_01…', './customers.ndjson', { wait: true, onProgress: (p) => bar.update(p.loaded) });
   */
  async import(
    datasetId: string,
    file: Uploadable,
    options: Opts &
      WaitOptions & {
        format?: 'ndjson' | 'csv';
        /** The key or column holding record ids (default `id`). */
        idField?: string;
        onProgress?: (p: UploadProgress) => void;
        onPoll?: (imp: DatasetImport) => void;
        wait?: boolean;
      } = {},
  ): Promise<DatasetImport> {
    const source = await toUploadSource(file, this.client.fileResolver);
    const format = options.format ?? (/\.csv$/i.test(source.name ?? '') || source.type === 'text/csv' ? 'csv' : 'ndjson');
    const contentType = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
    const filename = source.name ?? `import.${format}`;
    const { uploadUrl, s3Key } = await this.storage.uploadUrl({ filename, contentType }, { signal: options.signal });
    await putUpload(this.client, uploadUrl, source, contentType, options);
    const res = await this.client.request<EnvelopeOf<Job>>('POST', path`/api/v1/datasets/${datasetId}/records/import`, {
      signal: options.signal,
      timeout: options.timeout,
      query: { id_field: options.idField },
      body: { blob_key: s3Key, format },
    });
    const importId = lastSegment(res.links?.import, 'import');
    const poll = () => this.getImport(datasetId, importId, { signal: options.signal });
    if (!options.wait) return poll();
    return pollUntil(
      poll,
      options,
      (imp) => {
        options.onPoll?.(imp);
        if (imp.status === 'failed') throw new LoamError(`Import ${imp.id} failed: ${imp.error ?? 'unknown error'}`);
        return imp.status === 'succeeded';
      },
      `import ${importId}`,
    );
  }

  /** Per-line errors of an import. @example for await (const e of loam.records.importErrors(ds, imp.id)) console.log(e.line, e.message); */
  importErrors(datasetId: string, importId: string, query: { limit?: number } = {}): PagePromise<ImportError> {
    return cursorList(this.client, path`/api/v1/datasets/${datasetId}/imports/${importId}/errors`, { ...query });
  }

  /** The state and counts of an import. @example const { processed, failed, total } = await loam.records.getImport('ds_01…', 'imp_01…'); */
  getImport(datasetId: string, importId: string, options?: Opts): APIPromise<DatasetImport> {
    return dataOf(this.client.request<EnvelopeOf<DatasetImport>>('GET', path`/api/v1/datasets/${datasetId}/imports/${importId}`, options));
  }
}

/** The id at the end of a `links` URL the server returned. */
function lastSegment(link: string | undefined, what: string): string {
  const id = link?.split('?')[0].split('/').pop();
  if (!id) throw new LoamError(`The server did not say where the ${what} is`);
  return decodeURIComponent(id);
}
