import { typeMatches } from '@loam/api';
import type { Logger } from 'pino';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { type EventFilter, type EventStore, type LoggedEvent, type Position, comparePositions } from './store.js';

/** What a stream subscriber is handed: events in log order, each once, or the reason it ended. */
export interface EventSink {
  events(batch: LoggedEvent[]): void;
  failed(err: Error): void;
}

export interface EventSubscription {
  /** The newest position this process knew when the subscription went live. */
  readonly head: Position;
  /** Where it starts: events after this position. */
  readonly after: Position;
  close(): void;
}

/** Whether `event` passes `filter` (the same rules the store applies in SQL). */
export function matches(filter: EventFilter, event: CloudEvent): boolean {
  if (filter.types?.length && !filter.types.some((p) => typeMatches(p, event.type))) return false;
  if (filter.subject !== undefined && event.subject !== filter.subject) return false;
  const t = Date.parse(event.time);
  if (filter.since !== undefined && t < filter.since) return false;
  if (filter.until !== undefined && t >= filter.until) return false;
  return true;
}

class Reader {
  pumping = false;
  closed = false;
  constructor(
    readonly tenantId: string,
    readonly filter: EventFilter,
    /** Every event of the log up to here has been handed to the sink, or did not concern it. */
    public through: Position,
    readonly sink: EventSink,
  ) {}
}

const PAGE = 500;

/**
 * In-process fan-out of the event log to stream subscribers. The hub tails the log (woken by
 * commits in this process, polling for those of others) and hands each batch to every reader
 * that has caught up with it; a reader that starts behind (resuming after a position) reads its
 * tenant's events from the store page by page until it has caught up, then takes live batches.
 * Positions only grow and the store reads only below the oldest open transaction, so a reader
 * sees every matching event after its start exactly once, in order.
 */
export class EventHub {
  private head: Position | undefined;
  private headReady: Promise<void> | undefined;
  private readonly readers = new Set<Reader>();
  private reading: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: EventStore,
    private readonly log: Logger,
    private readonly pollMs: number,
  ) {}

  /** Subscribers in this process (metrics, benchmark). */
  get size(): number {
    return this.readers.size;
  }

  async subscribe(tenantId: string, after: Position, filter: EventFilter, sink: EventSink): Promise<EventSubscription> {
    if (!this.headReady)
      this.headReady = this.store.head().then((h) => {
        if (!this.head || comparePositions(h, this.head) > 0) this.head = h;
      });
    try {
      await this.headReady;
    } catch (err) {
      this.headReady = undefined;
      throw err;
    }
    const reader = new Reader(tenantId, filter, after, sink);
    this.readers.add(reader);
    this.ensureTimer();
    this.feed(reader);
    return {
      head: this.head as Position,
      after,
      close: () => {
        reader.closed = true;
        this.readers.delete(reader);
        if (this.readers.size === 0) this.stopTimer();
      },
    };
  }

  /** New events may have been committed: read them (soon) and hand them out. */
  poke = (): void => {
    if (this.readers.size === 0 || !this.head) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.advance()
      .catch((err) => this.log.warn({ err }, 'event stream read failed'))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  };

  closeAll(): void {
    for (const r of this.readers) r.closed = true;
    this.readers.clear();
    this.stopTimer();
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(this.poke, this.pollMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async advance(): Promise<void> {
    for (;;) {
      const from = this.head as Position;
      const batch = await this.store.after(null, from, {}, PAGE);
      if (batch.length === 0) return;
      const to = batch[batch.length - 1].position;
      this.head = to;
      for (const reader of this.readers) {
        if (reader.closed) continue;
        if (!reader.pumping && comparePositions(reader.through, from) === 0) {
          const mine = batch.filter((e) => e.event.tenantid === reader.tenantId && matches(reader.filter, e.event));
          reader.through = to;
          if (mine.length > 0) reader.sink.events(mine);
        } else this.feed(reader);
      }
      if (batch.length < PAGE) return;
    }
  }

  private feed(reader: Reader): void {
    if (reader.pumping || reader.closed || comparePositions(reader.through, this.head as Position) >= 0) return;
    reader.pumping = true;
    this.pump(reader).catch((err) => {
      this.log.warn({ err }, 'event stream subscriber read failed');
      reader.closed = true;
      this.readers.delete(reader);
      reader.sink.failed(err as Error);
    });
  }

  /** Reads what `reader` lacks from the store until it has caught up with the hub's head. */
  private async pump(reader: Reader): Promise<void> {
    while (!reader.closed && comparePositions(reader.through, this.head as Position) < 0) {
      const upTo = this.head as Position;
      const rows = await this.store.after(reader.tenantId, reader.through, reader.filter, PAGE);
      if (reader.closed) return;
      const mine = rows.filter((e) => comparePositions(e.position, upTo) <= 0);
      const last = rows[rows.length - 1];
      // Fewer than a page, or a page reaching beyond the head: everything up to the head is read.
      reader.through = rows.length < PAGE || comparePositions(last.position, upTo) > 0 ? upTo : last.position;
      if (mine.length > 0) reader.sink.events(mine);
    }
    reader.pumping = false;
  }
}
