import type { IngestResult, LogLevelName, LogRecordIn } from '@loam/api';
import { APIError } from './errors.js';
import type { ExecutionContext } from './resources/logs.js';

/** What the sink ships through: `loam.logs` of a client, or anything with its `ship`. */
export interface LogShipper {
  ship(records: LogRecordIn[], context: ExecutionContext, options?: { maxRetries?: number }): Promise<IngestResult>;
}

export interface LogSinkOptions {
  /** `loam.logs` (or a stand-in). */
  logs: LogShipper;
  /** Ship as soon as this many records wait (default 500; at most 5,000 go in one request). */
  maxBatch?: number;
  /** Ship what waits at least this often, in ms (default 1,000). */
  flushIntervalMs?: number;
  /** Records kept while the server cannot be reached; beyond it the oldest are dropped and counted (default 10,000). */
  maxBuffered?: number;
  /** First retry delay after a failed shipment, doubled up to `maxBackoffMs` (defaults 500 and 30,000 ms). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Flush when the process is about to exit (Node: `beforeExit`, SIGINT, SIGTERM). Default true. */
  flushOnExit?: boolean;
  /** Told about failed shipments (they are retried) and rejected batches (dropped). */
  onError?: (err: unknown) => void;
}

interface Entry {
  key: string;
  ctx: ExecutionContext;
  record: LogRecordIn;
}

/** Roughly the 1 MiB request limit, with room for the envelope. */
const MAX_REQUEST_BYTES = 900_000;
const LEVELS: readonly LogLevelName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

const keyOf = (c: ExecutionContext) =>
  `${c.executionId ?? ''}\u0000${c.sessionId ?? ''}\u0000${c.workflowId ?? ''}\u0000${c.traceparent ?? ''}`;

/** The execution context an incoming request carries (X-Loam-* headers and `traceparent`). */
export function fromHeaders(headers: Headers | Record<string, string | string[] | undefined>): ExecutionContext {
  const get = (name: string): string | undefined => {
    const v = typeof (headers as Headers).get === 'function' ? (headers as Headers).get(name) : (headers as Record<string, unknown>)[name];
    const s = Array.isArray(v) ? v[0] : v;
    return typeof s === 'string' && s ? s : undefined;
  };
  const ctx: ExecutionContext = {};
  const executionId = get('x-loam-execution-id');
  const sessionId = get('x-loam-session-id');
  const workflowId = get('x-loam-workflow-id');
  const traceparent = get('traceparent');
  if (executionId) ctx.executionId = executionId;
  if (sessionId) ctx.sessionId = sessionId;
  if (workflowId) ctx.workflowId = workflowId;
  if (traceparent) ctx.traceparent = traceparent;
  return ctx;
}

/** A logger bound to one execution context. */
export interface ExecutionLogger {
  readonly context: ExecutionContext;
  log(level: LogLevelName, message: string, attributes?: Record<string, unknown>): void;
  trace(message: string, attributes?: Record<string, unknown>): void;
  debug(message: string, attributes?: Record<string, unknown>): void;
  info(message: string, attributes?: Record<string, unknown>): void;
  warn(message: string, attributes?: Record<string, unknown>): void;
  error(message: string, attributes?: Record<string, unknown>): void;
  fatal(message: string, attributes?: Record<string, unknown>): void;
  /** A logger for the same execution with more context (e.g. a session id). */
  withExecution(ctx: ExecutionContext): ExecutionLogger;
}

/**
 * Buffers log records per execution context in memory and ships them to Loam in batches: when
 * `maxBatch` wait, every `flushIntervalMs`, and at exit. Logging never waits for the network and
 * never throws; a failed shipment is retried with backoff while new records keep arriving, and the
 * buffer stays within `maxBuffered` by dropping the oldest records (counted in `dropped`).
 * @example
 * const sink = new LogSink({ logs: loam.logs });
 * const log = sink.withExecution({ executionId: 'run-42' });
 * log.info('started', { step: 1 });
 */
export class LogSink {
  /** Records dropped: beyond the bound while the server was unreachable, or rejected by it (4xx). */
  dropped = 0;
  private queue: Entry[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private flushing: Promise<void> | undefined;
  private attempt = 0;
  private backoffUntil = 0;
  private closed = false;
  private readonly opts: Required<Omit<LogSinkOptions, 'onError'>> & Pick<LogSinkOptions, 'onError'>;
  private readonly onExit = () => void this.flush();

  constructor(options: LogSinkOptions) {
    this.opts = {
      maxBatch: 500,
      flushIntervalMs: 1000,
      maxBuffered: 10_000,
      backoffMs: 500,
      maxBackoffMs: 30_000,
      flushOnExit: true,
      ...options,
    };
    this.opts.maxBatch = Math.min(Math.max(1, this.opts.maxBatch), 5000);
    const proc = (globalThis as { process?: NodeJS.Process }).process;
    if (this.opts.flushOnExit && proc?.once) {
      proc.once('beforeExit', this.onExit);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) if (proc.listenerCount(signal) > 0) proc.once(signal, this.onExit); // only beside the app's own handler
    }
  }

  /** Records waiting to be shipped. */
  get buffered(): number {
    return this.queue.length;
  }

  /** Adds a record (synchronously; nothing waits for the network). */
  log(ctx: ExecutionContext, level: LogLevelName, message: string, attributes?: Record<string, unknown>, time?: number): void {
    if (this.closed) {
      this.dropped++;
      return;
    }
    const record: LogRecordIn = { time: new Date(time ?? Date.now()).toISOString(), level, message };
    if (attributes && Object.keys(attributes).length > 0) record.attributes = attributes;
    this.queue.push({ key: keyOf(ctx), ctx, record });
    if (this.queue.length > this.opts.maxBuffered) {
      const over = this.queue.length - this.opts.maxBuffered;
      this.queue.splice(0, over);
      this.dropped += over;
    }
    if (this.queue.length >= this.opts.maxBatch && Date.now() >= this.backoffUntil) void this.flush();
    else this.schedule();
  }

  withExecution(ctx: ExecutionContext): ExecutionLogger {
    const log = (level: LogLevelName, message: string, attributes?: Record<string, unknown>) => this.log(ctx, level, message, attributes);
    const logger = {
      context: ctx,
      log,
      withExecution: (more: ExecutionContext) => this.withExecution({ ...ctx, ...more }),
    } as ExecutionLogger;
    for (const level of LEVELS)
      (logger as unknown as Record<string, unknown>)[level] = (m: string, a?: Record<string, unknown>) => log(level, m, a);
    return logger;
  }

  /** Ships everything buffered now (one attempt; what fails stays buffered for the next). */
  flush(): Promise<void> {
    if (!this.flushing) {
      this.flushing = this.ship().finally(() => {
        this.flushing = undefined;
        if (this.queue.length > 0) this.schedule();
      });
    }
    return this.flushing;
  }

  /** Flushes, retrying until `deadlineMs` has passed, and stops the timers; later records are dropped. */
  async close(deadlineMs = 5000): Promise<void> {
    const until = Date.now() + deadlineMs;
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0 && Date.now() < until) {
      await this.flush();
      if (this.queue.length > 0) await new Promise((r) => setTimeout(r, Math.min(this.opts.backoffMs, Math.max(0, until - Date.now()))));
    }
    this.closed = true;
    const proc = (globalThis as { process?: NodeJS.Process }).process;
    proc?.off?.('beforeExit', this.onExit);
    proc?.off?.('SIGINT', this.onExit);
    proc?.off?.('SIGTERM', this.onExit);
  }

  private schedule(): void {
    if (this.timer || this.closed) return;
    const delay = Math.max(this.opts.flushIntervalMs, this.backoffUntil - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
    (this.timer as { unref?: () => void }).unref?.();
  }

  /** Takes the buffered records, ships them per context; puts back what failed (oldest first). */
  private async ship(): Promise<void> {
    if (this.queue.length === 0) return;
    const taken = this.queue;
    this.queue = [];
    const groups = new Map<string, Entry[]>();
    for (const e of taken) {
      const g = groups.get(e.key);
      if (g) g.push(e);
      else groups.set(e.key, [e]);
    }
    const failed: Entry[] = [];
    for (const group of groups.values()) {
      for (const chunk of chunks(group, this.opts.maxBatch)) {
        if (failed.length > 0) {
          failed.push(...chunk); // the server is failing: keep the rest for the retry
          continue;
        }
        try {
          await this.opts.logs.ship(
            chunk.map((e) => e.record),
            chunk[0].ctx,
            { maxRetries: 0 },
          );
        } catch (err) {
          this.opts.onError?.(err);
          if (err instanceof APIError && err.status >= 400 && err.status < 500 && err.status !== 408 && err.status !== 429) {
            this.dropped += chunk.length; // rejected: retrying would not help
          } else failed.push(...chunk);
        }
      }
    }
    if (failed.length === 0) {
      this.attempt = 0;
      this.backoffUntil = 0;
      return;
    }
    this.attempt++;
    this.backoffUntil = Date.now() + Math.min(this.opts.backoffMs * 2 ** (this.attempt - 1), this.opts.maxBackoffMs);
    // Failed records go back before those that arrived meanwhile, within the bound.
    this.queue = [...failed, ...this.queue];
    if (this.queue.length > this.opts.maxBuffered) {
      const over = this.queue.length - this.opts.maxBuffered;
      this.queue.splice(0, over);
      this.dropped += over;
    }
  }
}

/** Batches of at most `n` records and about MAX_REQUEST_BYTES of JSON. */
function* chunks(entries: Entry[], n: number): Generator<Entry[]> {
  let chunk: Entry[] = [];
  let bytes = 0;
  for (const e of entries) {
    const size = e.record.message.length + (e.record.attributes ? JSON.stringify(e.record.attributes).length : 0) + 64;
    if (chunk.length > 0 && (chunk.length >= n || bytes + size > MAX_REQUEST_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(e);
    bytes += size;
  }
  if (chunk.length > 0) yield chunk;
}
