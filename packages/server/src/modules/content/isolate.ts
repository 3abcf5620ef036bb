import { workerSource } from '../../platform/worker-source.js';
import { Worker } from 'node:worker_threads';
import type { ExtractReply, ExtractRequest } from './extract-worker.js';
import { ExtractionError, type ExtractOptions, type Extracted } from './extract.js';

export interface IsolationLimits {
  /** Deadline of one document, milliseconds. */
  timeoutMs: number;
  /** Heap cap of a worker thread, MB. */
  memoryMb: number;
  /** Worker threads at once. */
  workers: number;
}

/** The worker failed for a reason that may pass (it could not start, it was stopped): retried. */
export class ExtractionInterrupted extends Error {}

interface Slot {
  worker: Worker;
  busy: boolean;
  /** Set while a document is being extracted: settles its promise. */
  settle?: (reply: ExtractReply | Error) => void;
}

/** Documents at least this large are followed by a fresh worker, so their memory goes back. */
const RECYCLE_BYTES = 8 * 1024 * 1024;

/**
 * Extracts documents in worker threads: each document runs in a worker with a heap cap
 * (`resourceLimits`) and a deadline, so a huge or hostile document cannot stall the server's event
 * loop or exhaust its memory. A worker that overruns either is terminated and the document fails
 * with a readable ERROR. Idle workers are kept (unref'd) for the next document.
 */
export class ExtractionPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: (() => void)[] = [];
  private nextId = 1;

  constructor(private readonly limits: IsolationLimits) {}

  async extract(
    bytes: Buffer,
    contentType: string | undefined,
    filename: string | undefined,
    options: ExtractOptions,
    signal?: AbortSignal,
  ) {
    const slot = await this.acquire(signal);
    const id = this.nextId++;
    // A private copy, transferred: the worker owns it and the main thread keeps no second one.
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const request: ExtractRequest = { id, bytes: copy, contentType, filename, options };
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    try {
      const reply = await new Promise<ExtractReply | Error>((resolve) => {
        slot.settle = resolve;
        timer = setTimeout(
          () =>
            resolve(
              new ExtractionError(
                `Extraction took longer than ${this.limits.timeoutMs} ms and was stopped (LOAM_CONTENT_EXTRACT_TIMEOUT_MS)`,
              ),
            ),
          this.limits.timeoutMs,
        );
        onAbort = () => resolve(new ExtractionInterrupted('Extraction was interrupted (the job was stopped)'));
        signal?.addEventListener('abort', onAbort, { once: true });
        slot.worker.postMessage(request, [copy.buffer]);
      });
      if (reply instanceof Error) {
        this.discard(slot); // still busy with the document: stop it
        throw reply;
      }
      if (!reply.ok) throw new ExtractionError(reply.message);
      if (bytes.byteLength >= RECYCLE_BYTES) this.discard(slot);
      return reply.result as Extracted & { wordCount: number };
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      slot.settle = undefined;
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    const workers = this.slots.splice(0).map((s) => s.worker);
    await Promise.all(workers.map((w) => w.terminate()));
  }

  private async acquire(signal?: AbortSignal): Promise<Slot> {
    for (;;) {
      signal?.throwIfAborted();
      const idle = this.slots.find((s) => !s.busy);
      if (idle) {
        idle.busy = true;
        return idle;
      }
      if (this.slots.length < this.limits.workers) {
        const slot: Slot = { worker: await this.start(), busy: true };
        this.slots.push(slot);
        return slot;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(slot: Slot): void {
    slot.busy = false;
    this.waiting.shift()?.();
  }

  private discard(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    void slot.worker.terminate();
  }

  private async start(): Promise<Worker> {
    const { workerUrl } = await import('./extract-worker.js');
    const source = workerSource(workerUrl);
    const worker = new Worker(source, {
      eval: true,
      name: 'loam-extract',
      resourceLimits: {
        maxOldGenerationSizeMb: this.limits.memoryMb,
        maxYoungGenerationSizeMb: Math.min(64, Math.max(8, this.limits.memoryMb / 8)),
      },
    });
    worker.unref(); // idle, it does not keep the process alive
    const slot = () => this.slots.find((s) => s.worker === worker);
    worker.on('message', (m: ExtractReply) => slot()?.settle?.(m));
    worker.on('error', (err: Error & { code?: string }) => {
      const s = slot();
      const message =
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `The document needs more than ${this.limits.memoryMb} MB of memory to extract and was stopped (LOAM_CONTENT_EXTRACT_MEMORY_MB)`
          : `The document could not be read (${err.message})`;
      s?.settle?.(new ExtractionError(message));
      if (s) this.discard(s);
    });
    worker.on('exit', (code) => {
      const s = slot();
      s?.settle?.(new ExtractionInterrupted(`The extraction worker stopped (exit code ${code})`));
      if (s) {
        const i = this.slots.indexOf(s);
        if (i >= 0) this.slots.splice(i, 1);
      }
    });
    return worker;
  }
}
