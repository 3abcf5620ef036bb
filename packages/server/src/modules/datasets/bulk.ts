import { workerSource } from '../../platform/worker-source.js';
import { Worker } from 'node:worker_threads';
import type { SchemaField } from '@loam/api';
import { AppError } from '../../platform/errors.js';
import type { RawBody } from '../../platform/http/lazy-compilers.js';
import type { PlainRecord } from './protection.js';
import type { PreparedRecord } from './records.js';

import type { BulkMessage, BulkRequest, BulkStreamRequest, RecordPart } from './bulk-format.js';

export * from './bulk-format.js';

export type BulkChunk = { ids: string[]; prepared: PreparedRecord[] } | { ids: string[]; records: PlainRecord[] };

/** One body being parsed: its chunks in order, then the end, or the error the call fails with. */
export class BulkJob {
  private readonly queue: BulkMessage[] = [];
  private wake: (() => void) | undefined;
  protected finished = false;
  private failure: { err: unknown } | undefined;
  /** Records handed out by next() (a stream's back-pressure counts them). */
  protected taken = 0;

  constructor(private readonly release: () => void) {}

  push(message: BulkMessage): void {
    this.queue.push(message);
    this.wake?.();
  }

  /** Fails the job with `err`: next() throws it (before any chunk still queued). */
  abort(err: unknown): void {
    if (this.finished || this.failure) return;
    this.failure = { err };
    this.wake?.();
  }

  /** The next chunk, undefined at the end; throws what the body is refused for (400/413). */
  async next(): Promise<BulkChunk | undefined> {
    if (this.finished) return undefined;
    while (this.queue.length === 0 && !this.failure) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    if (this.failure) {
      this.discard();
      throw this.failure.err;
    }
    const m = this.queue.shift() as BulkMessage;
    if ('ids' in m) {
      const ids = m.ids.split('\n');
      this.taken += ids.length;
      const prepared = ids.map(
        (id, k): PreparedRecord => ({
          id,
          text: m.texts.slice(k > 0 ? m.ends[k - 1] : 0, m.ends[k]),
          hash: m.hashes.slice(k * 64, k * 64 + 64),
          bytes: m.bytes[k],
        }),
      );
      return { ids, prepared };
    }
    if ('records' in m) {
      this.taken += m.records.length;
      return { ids: m.records.map((r) => r.id), records: m.records };
    }
    this.finished = true;
    this.release();
    if ('validation' in m)
      // Rendered as Fastify's body validation errors are (errors-render.ts).
      throw Object.assign(new Error('body validation failed'), { validation: m.validation, validationContext: 'body', statusCode: 400 });
    if ('error' in m) throw new AppError(m.error.code, m.error.status, m.error.detail, m.error.fields);
    return undefined;
  }

  /** Reads the rest (after a failed insert): the remaining ids, or the error the body has. */
  async rest(): Promise<string[]> {
    const ids: string[] = [];
    for (let c = await this.next(); c; c = await this.next()) ids.push(...c.ids);
    return ids;
  }

  /** Drops what is left of the job (its call failed otherwise). */
  discard(): void {
    if (this.finished) return;
    this.finished = true;
    this.release();
  }

  /** Fails the job (the worker died). */
  fail(err: Error): void {
    this.push({ job: 0, error: { code: 'internal_error', status: 500, detail: `Bulk parsing failed: ${err.message}` } });
  }
}

/**
 * A streamed bulk insert on the worker: parts are fed as they arrive and come back as chunks in
 * order (one each), or as the error of the first part with a problem; end() when the stream has.
 */
export class BulkStream extends BulkJob {
  private fed = 0;
  private roomy: (() => void) | undefined;

  constructor(
    private readonly send: (request: BulkStreamRequest, transfer?: ArrayBuffer[]) => void,
    release: () => void,
  ) {
    super(release);
  }

  feed(part: RecordPart): void {
    this.fed += part.ids.length;
    this.send({ job: 0, part }, [part.data.buffer as ArrayBuffer, part.ends.buffer as ArrayBuffer]);
  }

  end(): void {
    this.send({ job: 0, end: true });
  }

  /** Whether the job is over (ended, failed or discarded): feed no more. */
  get over(): boolean {
    return this.finished;
  }

  /**
   * Back-pressure: resolves once fewer than `ahead` fed records wait to be taken by next() (or
   * the job is over), so a fast client is read no faster than its records are inserted.
   */
  async room(ahead: number): Promise<void> {
    while (!this.finished && this.fed - this.taken >= ahead) await new Promise<void>((resolve) => (this.roomy = resolve));
  }

  override async next(): Promise<BulkChunk | undefined> {
    try {
      return await super.next();
    } finally {
      this.roomy?.();
    }
  }

  override discard(): void {
    super.discard();
    this.roomy?.();
  }
}

/**
 * Parses, validates (body schema, dataset schema, duplicate ids) and prepares (canonical JSON,
 * hash) large bulk inserts on one worker thread, in chunks, so the event loop only inserts: it
 * inserts chunk k while the worker parses chunk k + 1, and stays free for other requests while a
 * 10,000-record body is parsed. Errors are the ones the inline path gives, in the same order of
 * precedence (syntax, then body schema, then records), so the two paths answer alike.
 */
export class BulkParser {
  private worker: Worker | undefined;
  /** The current worker's jobs (a worker that dies fails only its own). */
  private jobs = new Map<number, BulkJob>();
  private nextJob = 1;

  async parse(body: RawBody, fields: SchemaField[], now: number, mode: BulkRequest['mode']): Promise<BulkJob> {
    const worker = this.worker ?? (await this.start());
    const job = this.nextJob++;
    const jobs = this.jobs;
    const state = new BulkJob(() => jobs.delete(job));
    jobs.set(job, state);
    const request: BulkRequest = { job, bytes: body.bytes, format: body.format, fields, now, mode };
    worker.postMessage(request);
    return state;
  }

  /** A streamed bulk insert against a schema (see BulkStream); `now` is the time new ids carry. */
  async stream(fields: SchemaField[], now: number, mode: BulkRequest['mode']): Promise<BulkStream> {
    const worker = this.worker ?? (await this.start());
    const job = this.nextJob++;
    const jobs = this.jobs;
    const send = (request: BulkStreamRequest, transfer?: ArrayBuffer[]) => worker.postMessage({ ...request, job }, transfer);
    const state = new BulkStream(send, () => {
      if (jobs.delete(job)) send({ job, cancel: true }); // the worker drops what it holds of it
    });
    jobs.set(job, state);
    send({ job, stream: { fields, now, mode } });
    return state;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private async start(): Promise<Worker> {
    const { workerUrl } = await import('./bulk-worker.js');
    if (this.worker) return this.worker;
    const source = workerSource(workerUrl);
    const worker = new Worker(source, { eval: true, name: 'loam-bulk-parse' });
    worker.unref(); // idle, it does not keep the process alive
    const jobs = new Map<number, BulkJob>();
    worker.on('message', (m: BulkMessage) => jobs.get(m.job)?.push(m));
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const job of jobs.values()) job.fail(err);
      jobs.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the worker exited (${code})`)));
    this.worker = worker;
    this.jobs = jobs;
    return worker;
  }
}
