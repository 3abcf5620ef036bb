import type { Logger } from 'pino';
import type { BusStore, StoredMessage } from './store.js';

/** What a subscriber is handed: messages in position order, each exactly once, or the reason it ended. */
export interface BusSink {
  messages(batch: StoredMessage[]): void;
  /** The subscription cannot continue (its next position was purged, or the store failed). */
  failed(err: SubscriptionGap | Error): void;
}

/** The position after the subscriber's is gone: retention purged it. */
export class SubscriptionGap extends Error {
  constructor(readonly oldestPosition: number) {
    super(`Messages before position ${oldestPosition} were purged`);
  }
}

/** The session was deleted while subscribed. */
export class SessionDeleted extends Error {
  constructor() {
    super('The session was deleted');
  }
}

export interface Subscription {
  /** The session's newest position when the subscription went live. */
  readonly head: number;
  close(): void;
}

const PAGE = 500;

class Subscriber {
  pumping = false;
  closed = false;
  constructor(
    public delivered: number,
    readonly sink: BusSink,
  ) {}
}

/** The subscribers of one session in this process, and the newest position this process knows. */
class SessionHub {
  head = 0;
  /** The messages of the last advance, when they follow the previous head (fan-out without a read). */
  recent: StoredMessage[] | undefined;
  readonly subscribers = new Set<Subscriber>();
  ready: Promise<void> | undefined;
}

/**
 * In-process fan-out of session messages. Every subscriber keeps the position it has delivered;
 * it is handed what follows, from the messages just committed when it is caught up, else read
 * from the store page by page until it is: so a subscriber sees every message after its starting
 * position once, in order, whether it joined late, fell behind or the messages were sent by
 * another process (which tells this one through `advance`).
 */
export class BusHub {
  private readonly hubs = new Map<string, SessionHub>();

  constructor(
    private readonly store: BusStore,
    private readonly log: Logger,
  ) {}

  /** Subscribers in this process (for metrics and the benchmark). */
  get size(): number {
    let n = 0;
    for (const h of this.hubs.values()) n += h.subscribers.size;
    return n;
  }

  /**
   * Starts delivering the messages after `after` to `sink`. Resolves once the subscription is
   * live: any message committed from then on reaches it.
   */
  async subscribe(tenantId: string, sessionId: string, after: number, sink: BusSink): Promise<Subscription> {
    const key = `${tenantId}\u0000${sessionId}`;
    let hub = this.hubs.get(key);
    if (!hub) {
      const created = new SessionHub();
      hub = created;
      this.hubs.set(key, created);
      // The hub is in the map before its head is read, so an advance that races this read is kept.
      created.ready = this.store.session(tenantId, sessionId).then((s) => {
        created.head = Math.max(created.head, s?.head ?? 0);
      });
    }
    const sub = new Subscriber(after, sink);
    hub.subscribers.add(sub);
    const live = hub;
    try {
      await live.ready;
    } catch (err) {
      this.drop(key, live, sub);
      throw err;
    }
    this.feed(tenantId, sessionId, live, sub);
    return {
      head: live.head,
      close: () => this.drop(key, live, sub),
    };
  }

  /**
   * The session's head moved to `head` (committed). `messages`, when given, are the ones that
   * moved it, in order: caught-up subscribers get them without a read.
   */
  advance(tenantId: string, sessionId: string, head: number, messages?: StoredMessage[]): void {
    const hub = this.hubs.get(`${tenantId}\u0000${sessionId}`);
    if (!hub || head <= hub.head) return;
    const previous = hub.head;
    hub.head = head;
    hub.recent = messages && messages.length > 0 && messages[0].position <= previous + 1 ? messages : undefined;
    for (const sub of hub.subscribers) this.feed(tenantId, sessionId, hub, sub);
  }

  /** Ends every subscription (shutdown). */
  closeAll(): void {
    for (const hub of this.hubs.values()) for (const sub of hub.subscribers) sub.closed = true;
    this.hubs.clear();
  }

  private drop(key: string, hub: SessionHub, sub: Subscriber): void {
    sub.closed = true;
    hub.subscribers.delete(sub);
    if (hub.subscribers.size === 0 && this.hubs.get(key) === hub) this.hubs.delete(key);
  }

  private feed(tenantId: string, sessionId: string, hub: SessionHub, sub: Subscriber): void {
    if (sub.pumping || sub.closed || sub.delivered >= hub.head) return;
    const recent = hub.recent;
    if (recent && sub.delivered >= recent[0].position - 1) {
      // A caught-up subscriber gets the very array every other one gets (its wire text is built once).
      const batch = sub.delivered === recent[0].position - 1 ? recent : recent.filter((m) => m.position > sub.delivered);
      if (batch.length > 0) {
        sub.delivered = batch[batch.length - 1].position;
        sub.sink.messages(batch);
      }
      return;
    }
    sub.pumping = true;
    this.pump(tenantId, sessionId, hub, sub).catch((err) => {
      this.log.warn({ err }, 'bus subscriber read failed');
      sub.closed = true;
      sub.sink.failed(err as Error);
    });
  }

  /** Reads what `sub` lacks from the store until it has caught up with the hub. */
  private async pump(tenantId: string, sessionId: string, hub: SessionHub, sub: Subscriber): Promise<void> {
    while (!sub.closed && sub.delivered < hub.head) {
      const batch = await this.store.after(tenantId, sessionId, sub.delivered, PAGE);
      if (sub.closed) return;
      if (batch.length === 0) {
        // The head says there is more, the store has nothing: purged or deleted meanwhile.
        const session = await this.store.session(tenantId, sessionId);
        sub.closed = true;
        sub.sink.failed(session ? new SubscriptionGap(session.purgedThrough + 1) : new SessionDeleted());
        return;
      }
      if (batch[0].position !== sub.delivered + 1) {
        sub.closed = true;
        sub.sink.failed(new SubscriptionGap(batch[0].position));
        return;
      }
      sub.delivered = batch[batch.length - 1].position;
      sub.sink.messages(batch);
    }
    sub.pumping = false;
    // An advance that came while the last read was in flight is handed over now.
    this.feed(tenantId, sessionId, hub, sub);
  }
}
