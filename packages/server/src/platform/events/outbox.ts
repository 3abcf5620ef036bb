import type { Logger } from 'pino';
import type { Clock, Ids } from '../crypto/index.js';
import { type DatabaseHandle, type Executor, fromJson, toJson, wakeOnCommit } from '../db/index.js';
import type { OutboxEventsTable } from '../db/schema.js';
import type { Selectable } from 'kysely';
import { eventOrigin } from './origin.js';

/** A CloudEvents 1.0 event in JSON form; extension attributes are lowercase alphanumerics. */
export interface CloudEvent<T = unknown> {
  specversion: '1.0';
  id: string;
  type: string;
  source: string;
  subject: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
  tenantid: string;
  correlationid?: string;
  traceparent?: string;
}

export interface EmitMeta {
  tenantId: string;
  /** Defaults to `/<subject>`. */
  source?: string;
  correlationId?: string;
  traceparent?: string;
}

export const EVENT_TYPE_PREFIX = 'io.loam.';

export type EventHandler = (event: CloudEvent) => Promise<void> | void;
/** Takes a pass's events at once (in order); it must be idempotent: after a failure the whole batch comes again. */
export type BatchEventHandler = (events: CloudEvent[]) => Promise<void>;

interface Subscription {
  name: string;
  handler: EventHandler | { batch: BatchEventHandler };
  types?: Set<string>;
  from: 'start' | 'now';
}

interface Position {
  txid: number;
  seq: number;
}

/**
 * Transactional outbox. `emit` writes the event in the caller's transaction; the relay
 * delivers committed events to each subscriber in order, at least once, tracking a durable
 * cursor per subscriber so a crash between commit and delivery loses nothing.
 */
export class EventOutbox {
  private readonly subscriptions = new Map<string, Subscription>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private tickPromise: Promise<void> | undefined;
  private wakeRequested = false;
  /** PostgreSQL: the last pass saw events held back by a transaction still open somewhere. */
  private heldBack = false;
  private readonly owner: string;
  private readonly initialized = new Set<string>();
  private readonly wakeListeners = new Set<() => void>();

  constructor(
    private readonly database: DatabaseHandle,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly log: Logger,
    private readonly opts: { pollMs: number; leaseMs?: number; batchSize?: number; owner?: string },
  ) {
    this.owner = opts.owner ?? ids.new('relay');
  }

  /** Records `io.loam.<type>` for `subject` inside `tx`; it is delivered only if `tx` commits. */
  async emit<T>(tx: Executor, type: string, subject: string, data: T, given: EmitMeta): Promise<CloudEvent<T>> {
    const [event] = await this.emitMany<T>(tx, [{ type, subject, data, meta: given }]);
    return event;
  }

  /** `emit` for many events in one statement (in order), for callers that record in batches. */
  async emitMany<T>(tx: Executor, items: { type: string; subject: string; data: T; meta: EmitMeta }[]): Promise<CloudEvent<T>[]> {
    if (items.length === 0) return [];
    const now = this.clock.now();
    // The request being served (if any) names the correlation id and trace the caller did not.
    const origin = eventOrigin.getStore();
    const events = items.map(({ type, subject, data, meta: given }): CloudEvent<T> => {
      const meta = origin
        ? { ...given, correlationId: given.correlationId ?? origin.correlationId, traceparent: given.traceparent ?? origin.traceparent }
        : given;
      return {
        specversion: '1.0',
        id: this.ids.new('evt'),
        type: type.startsWith(EVENT_TYPE_PREFIX) ? type : EVENT_TYPE_PREFIX + type,
        source: meta.source ?? `/${subject}`,
        subject,
        time: new Date(now).toISOString(),
        datacontenttype: 'application/json',
        data,
        tenantid: meta.tenantId,
        ...(meta.correlationId ? { correlationid: meta.correlationId } : {}),
        ...(meta.traceparent ? { traceparent: meta.traceparent } : {}),
      };
    });
    // Nine columns a row: 500 rows stay far below either database's bound-parameter limit.
    for (let i = 0; i < events.length; i += 500) {
      const rows = events.slice(i, i + 500).map((event) => ({
        id: event.id,
        tenant_id: event.tenantid,
        type: event.type,
        source: event.source,
        subject: event.subject,
        time: now,
        data: toJson(event.data),
        correlation_id: event.correlationid ?? null,
        traceparent: event.traceparent ?? null,
      }));
      await tx.insertInto('outbox_events').values(rows).execute();
    }
    if (!wakeOnCommit(tx, 'events')) this.wake();
    return events;
  }

  /**
   * Registers a durable subscriber. Its cursor is kept under `name`: one delivery stream per
   * name across all processes (a lease keeps two relays from delivering the same stream).
   * `{ batch }` takes each pass's events (up to the batch size) in one call.
   */
  subscribe(
    name: string,
    handler: EventHandler | { batch: BatchEventHandler },
    opts: { types?: string[]; from?: 'start' | 'now' } = {},
  ): void {
    if (this.subscriptions.has(name)) throw new Error(`duplicate event subscriber ${name}`);
    const types = opts.types?.map((t) => (t.startsWith(EVENT_TYPE_PREFIX) ? t : EVENT_TYPE_PREFIX + t));
    this.subscriptions.set(name, { name, handler, types: types && new Set(types), from: opts.from ?? 'start' });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Stops the relay after the delivery in progress, releasing leases. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.tickPromise;
    if (this.subscriptions.size > 0) {
      await this.database.db
        .updateTable('outbox_cursors')
        .set({ lease_owner: null, lease_until: null })
        .where('lease_owner', '=', this.owner)
        .execute()
        .catch(() => {});
    }
  }

  /** Called after every commit that emitted events (in-process readers of the log wake on it). */
  onWake(listener: () => void): () => void {
    this.wakeListeners.add(listener);
    return () => this.wakeListeners.delete(listener);
  }

  /** Asks for a delivery pass soon (called after a transaction that emitted commits). */
  wake(): void {
    for (const listener of this.wakeListeners) listener();
    if (!this.running) return;
    if (this.tickPromise) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.tickPromise = this.deliverPending()
        .then(() => undefined)
        .catch((err) => this.log.error({ err }, 'event relay pass failed'))
        .finally(() => {
          this.tickPromise = undefined;
          if (!this.running) return;
          const again = this.wakeRequested;
          this.wakeRequested = false;
          // Held-back events become visible as soon as the open transaction ends: look again soon.
          this.schedule(again ? 0 : this.heldBack ? Math.min(this.opts.pollMs, 50) : this.opts.pollMs);
        });
    }, ms);
    this.timer.unref?.();
  }

  /** One delivery pass over every subscriber; returns how many events were delivered. */
  async deliverPending(): Promise<number> {
    let delivered = 0;
    this.heldBack = false;
    for (const sub of this.subscriptions.values()) delivered += await this.deliverTo(sub);
    return delivered;
  }

  private visibleBelow() {
    return this.database.dialect.outboxVisibleBelow();
  }

  /** Events after `position` (the dialect knows how to compare positions cheaply). */
  private after(position: Position) {
    return this.database.dialect.outboxAfter(this.database.db.selectFrom('outbox_events'), position);
  }

  private async head(): Promise<Position> {
    const row = await this.database.db
      .selectFrom('outbox_events')
      .select(['txid', 'seq'])
      .orderBy('txid', 'desc')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { txid: Number(row.txid), seq: Number(row.seq) } : { txid: 0, seq: 0 };
  }

  private async deliverTo(sub: Subscription): Promise<number> {
    const db = this.database.db;
    const now = this.clock.now();
    const leaseMs = this.opts.leaseMs ?? 30_000;
    if (!this.initialized.has(sub.name)) {
      const start = sub.from === 'now' ? await this.head() : { txid: 0, seq: 0 };
      await db
        .insertInto('outbox_cursors')
        .values({ subscriber: sub.name, txid: start.txid, seq: start.seq, updated_at: now })
        .onConflict((oc) => oc.column('subscriber').doNothing())
        .execute();
      this.initialized.add(sub.name);
    }
    // The cursor is read on every pass (it is the stored one that counts), but the lease is
    // written only when this relay does not hold it or has used half of it; each position write
    // renews it. A pass that finds nothing new writes nothing.
    const cursor = await db
      .selectFrom('outbox_cursors')
      .select(['txid', 'seq', 'failures', 'retry_at', 'lease_owner', 'lease_until'])
      .where('subscriber', '=', sub.name)
      .executeTakeFirst();
    if (!cursor || Number(cursor.retry_at) > now) return 0;
    let stored = { position: { txid: Number(cursor.txid), seq: Number(cursor.seq) }, failures: Number(cursor.failures) };
    if (cursor.lease_owner !== this.owner || Number(cursor.lease_until) - now < leaseMs / 2) {
      const taken = await db
        .updateTable('outbox_cursors')
        .set({ lease_owner: this.owner, lease_until: now + leaseMs })
        .where('subscriber', '=', sub.name)
        .where('retry_at', '<=', now)
        .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', this.owner), eb('lease_until', '<', now)]))
        .returning(['txid', 'seq', 'failures'])
        .executeTakeFirst();
      if (!taken) return 0;
      stored = { position: { txid: Number(taken.txid), seq: Number(taken.seq) }, failures: Number(taken.failures) };
    }

    const batchSize = this.opts.batchSize ?? 100;
    const below = this.visibleBelow();
    let query = this.after(stored.position).selectAll();
    query = this.database.dialect.outboxOrder(query).limit(batchSize);
    if (below) query = query.where('txid', '<', below);
    const rows = await query.execute();

    // A pass may outlast its lease (slow subscribers, a big batch): renew it while the handlers
    // run, or another relay takes it, delivers the same events, and neither position write lands.
    const renewal = rows.length > 0 ? this.renewWhileRunning(sub.name, leaseMs) : undefined;
    let outcome: Awaited<ReturnType<typeof this.handle>>;
    try {
      outcome = await this.handle(sub, rows, stored.position);
    } finally {
      clearInterval(renewal);
    }
    const { delivered, failure, position } = outcome;
    const failures = failure ? stored.failures + 1 : 0;
    if (failure) this.log.warn({ err: failure, subscriber: sub.name, failures }, 'event subscriber failed; will retry');
    // Nothing read and nothing to clear: the stored cursor is already right.
    if (rows.length > 0 || failure || stored.failures > 0) {
      const at = this.clock.now();
      const written = await db
        .updateTable('outbox_cursors')
        .set({
          txid: position.txid,
          seq: position.seq,
          updated_at: at,
          failures,
          last_error: failure ? String((failure as Error).message ?? failure) : null,
          retry_at: failure ? at + Math.min(60_000, 100 * 2 ** Math.min(failures, 10)) : 0,
          lease_until: at + leaseMs,
        })
        .where('subscriber', '=', sub.name)
        .where('lease_owner', '=', this.owner)
        .executeTakeFirst();
      // Another relay took the stream over (this process stalled past its lease): it redelivers
      // from the stored cursor, so nothing is lost; the events handled here were at least once.
      if (Number(written.numUpdatedRows) === 0)
        this.log.warn({ subscriber: sub.name }, 'event relay lost its lease during a pass; another relay continues the stream');
    }
    if (rows.length === batchSize && !failure) this.wakeRequested = true;
    else if (below && !failure && !this.heldBack) {
      const beyond = await this.after(position).select('seq').limit(1).executeTakeFirst();
      this.heldBack = beyond !== undefined;
    }
    return delivered;
  }

  /** Hands `rows` to the subscriber; returns how many it took, the failure if any, and the position reached. */
  private async handle(
    sub: Subscription,
    rows: Selectable<OutboxEventsTable>[],
    from: Position,
  ): Promise<{ delivered: number; failure: unknown; position: Position }> {
    let position = from;
    let delivered = 0;
    let failure: unknown;
    const { handler } = sub;
    if (typeof handler !== 'function') {
      // One call for the pass's events: all of them are done, or none (the cursor stays).
      const events = rows.filter((row) => !sub.types || sub.types.has(row.type)).map(rowToEvent);
      try {
        if (events.length > 0) await handler.batch(events);
        delivered = events.length;
        const last = rows.at(-1);
        if (last) position = { txid: Number(last.txid), seq: Number(last.seq) };
      } catch (err) {
        failure = err;
      }
    } else
      for (const row of rows) {
        if (!sub.types || sub.types.has(row.type)) {
          try {
            await handler(rowToEvent(row));
          } catch (err) {
            failure = err;
            break;
          }
          delivered++;
        }
        position = { txid: Number(row.txid), seq: Number(row.seq) };
      }
    return { delivered, failure, position };
  }

  /** Extends this relay's lease on `subscriber` every third of `leaseMs` until cleared. */
  private renewWhileRunning(subscriber: string, leaseMs: number): NodeJS.Timeout {
    const timer = setInterval(() => {
      this.database.db
        .updateTable('outbox_cursors')
        .set({ lease_until: this.clock.now() + leaseMs })
        .where('subscriber', '=', subscriber)
        .where('lease_owner', '=', this.owner)
        .execute()
        .catch((err) => this.log.warn({ err, subscriber }, 'could not renew the event relay lease'));
    }, leaseMs / 3);
    timer.unref?.();
    return timer;
  }

  /** Events not yet delivered to the slowest subscriber (the outbox lag). */
  async lag(): Promise<number> {
    const db = this.database.db;
    const cursors = await db.selectFrom('outbox_cursors').select(['subscriber', 'txid', 'seq']).execute();
    let worst = 0;
    for (const c of cursors) {
      if (!this.subscriptions.has(c.subscriber)) continue;
      const row = await this.after({ txid: Number(c.txid), seq: Number(c.seq) })
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      worst = Math.max(worst, Number(row.n));
    }
    return worst;
  }
}

export function rowToEvent(row: Selectable<OutboxEventsTable>): CloudEvent {
  return {
    specversion: '1.0',
    id: row.id,
    type: row.type,
    source: row.source,
    subject: row.subject,
    time: new Date(row.time).toISOString(),
    datacontenttype: 'application/json',
    data: fromJson(row.data),
    tenantid: row.tenant_id,
    ...(row.correlation_id ? { correlationid: row.correlation_id } : {}),
    ...(row.traceparent ? { traceparent: row.traceparent } : {}),
  };
}
