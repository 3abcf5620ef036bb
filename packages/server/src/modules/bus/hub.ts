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
  /**
   * The newest position whose message the hub has had in hand for its caught-up subscribers
   * (handed over by a local send, or read once for all of them).
   */
  readThrough = 0;
  /** The messages the hub last had in hand, in order and ending at `readThrough`. */
  recent: StoredMessage[] | undefined;
  /** A read of what another process committed is in flight, for every caught-up subscriber at once. */
  reading = false;
  readonly subscribers = new Set<Subscriber>();
  ready: Promise<void> | undefined;
}

/**
 * In-process fan-out of session messages. Every subscriber keeps the position it has delivered;
 * it is handed what follows, from the messages the hub has in hand when it is caught up (the ones
 * just committed here, or, when another process committed them and told this one through
 * `advance`, one read shared by every caught-up subscriber), else read from the store page by page
 * until it is: so a subscriber sees every message after its starting position once, in order,
 * whether it joined late, fell behind or the messages were sent by another process.
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
        created.readThrough = Math.max(created.readThrough, s?.head ?? 0);
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
   * moved it, in order: caught-up subscribers get them without a read. Without them (another
   * process sent), the hub reads what follows once for every caught-up subscriber.
   */
  advance(tenantId: string, sessionId: string, head: number, messages?: StoredMessage[]): void {
    const hub = this.hubs.get(`${tenantId}\u0000${sessionId}`);
    if (!hub || head <= hub.head) return;
    hub.head = head;
    if (hub.reading) {
      // The read in flight goes on until it has reached the new head.
    } else if (
      messages &&
      messages.length > 0 &&
      messages[0].position <= hub.readThrough + 1 &&
      messages[messages.length - 1].position === head
    ) {
      hub.recent = messages;
      hub.readThrough = head;
    } else this.readForAll(tenantId, sessionId, hub);
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
    if (recent && sub.delivered >= recent[0].position - 1 && sub.delivered < recent[recent.length - 1].position) {
      // A caught-up subscriber gets the very array every other one gets (its wire text is built once).
      const batch = sub.delivered === recent[0].position - 1 ? recent : recent.filter((m) => m.position > sub.delivered);
      sub.delivered = batch[batch.length - 1].position;
      sub.sink.messages(batch);
      if (sub.closed || sub.delivered >= hub.head) return;
    }
    // What the hub is reading for every caught-up subscriber comes to this one with the others.
    if (hub.reading && sub.delivered >= hub.readThrough) return;
    sub.pumping = true;
    this.pump(tenantId, sessionId, hub, sub).catch((err) => {
      this.log.warn({ err }, 'bus subscriber read failed');
      sub.closed = true;
      sub.sink.failed(err as Error);
    });
  }

  /** Starts the read of what follows `readThrough`, shared by every caught-up subscriber. */
  private readForAll(tenantId: string, sessionId: string, hub: SessionHub): void {
    hub.reading = true;
    this.readPages(tenantId, sessionId, hub)
      .catch((err) => this.log.warn({ err }, 'bus read for subscribers failed'))
      .finally(() => {
        hub.reading = false;
        // Whoever is still behind (the read stopped short: purged, deleted, failed) reads on its own.
        for (const sub of hub.subscribers) this.feed(tenantId, sessionId, hub, sub);
      });
  }

  private async readPages(tenantId: string, sessionId: string, hub: SessionHub): Promise<void> {
    await hub.ready;
    while (hub.subscribers.size > 0 && hub.readThrough < hub.head) {
      const from = hub.readThrough;
      const batch = await this.store.after(tenantId, sessionId, from, PAGE);
      if (batch.length === 0 || batch[0].position !== from + 1) return;
      hub.recent = batch;
      hub.readThrough = batch[batch.length - 1].position;
      // Committed messages whose notification has not come yet are as good as announced.
      hub.head = Math.max(hub.head, hub.readThrough);
      for (const sub of hub.subscribers) this.feed(tenantId, sessionId, hub, sub);
    }
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
