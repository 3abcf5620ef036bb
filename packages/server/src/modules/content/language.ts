import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { clearWinner, detectLanguage, languageSample } from './extract.js';

type Guess = { lang: string; accuracy: number } | undefined;

/** Runs tinyld's `detectAll` on the samples it is sent; answers with the best guess. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { detectAll } = require(workerData.tinyld);
parentPort.on('message', ({ id, text }) => {
  let best;
  try {
    best = detectAll(text)[0];
  } catch {}
  parentPort.postMessage({ id, best });
});
`;

/**
 * Language detection (tinyld: about 1 ms of CPU per text, a quarter of an inline item's
 * processing) on a worker thread, so that it runs beside the event loop serving requests and
 * jobs rather than on it. The answers are `detectLanguage`'s: the same sample, the same library,
 * the same threshold. If the thread cannot start or dies, detection runs inline.
 */
export class LanguageDetector {
  private worker: Worker | undefined;
  private broken = false;
  private next = 0;
  private readonly pending = new Map<number, { sample: string; resolve: (lang: string | undefined) => void }>();

  /** ISO 639-1 code of the text's language, or undefined when too short or unclear. */
  async detect(text: string): Promise<string | undefined> {
    const sample = languageSample(text);
    if (sample === undefined) return undefined;
    const worker = this.thread();
    if (!worker) return detectLanguage(sample);
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, { sample, resolve });
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, text: sample });
    });
  }

  /** Stops the thread (pending detections finish inline). */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.broken = true;
    this.settleInline();
    await worker?.terminate();
  }

  private thread(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    try {
      const tinyld = createRequire(import.meta.url).resolve('tinyld');
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { tinyld } });
      worker.unref(); // referenced only while detections are pending
      worker.on('message', ({ id, best }: { id: number; best: Guess }) => {
        const job = this.pending.get(id);
        if (!job) return;
        this.pending.delete(id);
        if (this.pending.size === 0) worker.unref();
        job.resolve(clearWinner(best));
      });
      const fail = () => {
        if (this.worker !== worker) return;
        this.worker = undefined;
        this.broken = true;
        this.settleInline();
      };
      worker.on('error', fail);
      worker.on('exit', fail);
      this.worker = worker;
    } catch {
      this.broken = true;
    }
    return this.worker;
  }

  private settleInline(): void {
    for (const [id, job] of this.pending) {
      this.pending.delete(id);
      job.resolve(detectLanguage(job.sample));
    }
  }
}
