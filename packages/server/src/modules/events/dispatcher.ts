import { DEFAULT_RETRY_SCHEDULE_SECONDS } from '@loam/api';
import type { Updateable } from 'kysely';
import type { Logger } from 'pino';
import type { Executor } from '../../platform/db/index.js';
import { fromJson } from '../../platform/db/index.js';
import type { WorkerLoop } from '../../platform/jobs/queue.js';
import type { Platform } from '../../platform/module.js';
import type { Outcome, WebhookSender } from './delivery.js';
import type { WebhookDeliveriesTable } from './tables.js';
import type { DeliveryRow, WebhookRow, WebhookStore } from './webhook-store.js';

/** Deliveries one process sends at once, over every endpoint (each endpoint also has its own limit). */
export const MAX_IN_FLIGHT = 256;
/**
 * Due rows read per claim: twice the free slots, at most CLAIM_READ (an endpoint with a backlog
 * and a few free slots had hundreds of its rows read to take a few). A claim that took every row it
 * read claims again at once: more may be due.
 */
const READ_AHEAD = 2;
const CLAIM_READ = 64;

/** A delivery this process leased, with its endpoint. */
interface Claimed {
  delivery: DeliveryRow;
  hook: WebhookRow;
}

interface Done extends Claimed {
  startedAt: number;
  outcome: Outcome;
}

/**
 * Sends webhook deliveries in batches. The `webhook_deliveries` table is its queue: one
 * transaction leases a batch of due deliveries (at most each endpoint's `concurrency` leased at
 * once across every process: in-flight deliveries are counted from the unexpired leases, and on
 * PostgreSQL claims are serialized by an advisory lock, on SQLite by its one writer), they are
 * sent concurrently over keep-alive connections, and their outcomes are recorded in one
 * transaction per batch (attempts, each delivery's next state and the end of its lease, the
 * endpoints' failure counts, disabling). A process that dies with deliveries in flight leaves
 * their leases to expire (or to `Liveness`, which expires a dead process's at once): they are due
 * again, so each is sent at least once.
 *
 * It runs where the job workers run (attached to the job queue: started, stopped and woken with
 * them, so a commit that fans an event out wakes it at once); between wakes it polls every
 * LOAM_JOB_POLL_MS for retries falling due.
 */
export class WebhookDispatcher implements WorkerLoop {
  private running = false;
  private inFlight = 0;
  private claiming: Promise<void> | undefined;
  private claimAgain = false;
  private flushing: Promise<void> | undefined;
  private done: Done[] = [];
  private readonly sends = new Set<Promise<void>>();
  private abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(
    private readonly platform: Platform,
    private readonly store: WebhookStore,
    private readonly sender: WebhookSender,
    /** The lease owner's name (a `Liveness` owner, so a dead process's leases are expired at once). */
    private readonly owner: string,
  ) {
    this.log = platform.log.child({ component: 'webhooks' });
  }

  /** How long a lease lasts: the longest an attempt may take, and the job lease's margin. */
  private get leaseMs(): number {
    return this.platform.config.webhookTimeoutMs + this.platform.config.jobLeaseMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.pump();
  }

  wake(): void {
    if (this.running) this.pump();
  }

  /** Stops claiming; waits up to `deadlineMs` for the deliveries in flight, then aborts them, and records what came back. */
  async stop(deadlineMs: number): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.claiming;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.sends]),
      new Promise((r) => {
        timer = setTimeout(r, deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    this.abort.abort(new Error('shutting down'));
    await Promise.allSettled([...this.sends]);
    await this.flush();
    await this.sender.close();
  }

  /**
   * Claims, sends and records due deliveries one batch at a time until none is due; returns how
   * many were sent. For tests (with a manual clock) and one-off runs; the running loop pipelines.
   */
  async drain(): Promise<number> {
    let n = 0;
    for (;;) {
      const { batch } = await this.claim(MAX_IN_FLIGHT);
      if (batch.length === 0) return n;
      const done = await Promise.all(batch.map((c) => this.attempt(c)));
      await this.record(done);
      n += batch.length;
    }
  }

  // ---- the loop -------------------------------------------------------------------------------

  private pump(): void {
    if (!this.running) return;
    if (this.claiming) {
      this.claimAgain = true;
      return;
    }
    const free = MAX_IN_FLIGHT - this.inFlight;
    if (free <= 0) return; // a recorded batch pumps again
    clearTimeout(this.timer);
    let full = false;
    this.claiming = this.claim(free)
      .then(({ batch, more }) => {
        full = more || batch.length === free;
        for (const c of batch) this.launch(c);
      })
      .catch((err) => this.log.error({ err }, 'claiming webhook deliveries failed'))
      .finally(() => {
        this.claiming = undefined;
        if (!this.running) return;
        if (this.claimAgain || full) {
          this.claimAgain = false;
          setImmediate(() => this.pump());
        } else {
          this.timer = setTimeout(() => this.pump(), this.platform.config.jobPollMs);
          this.timer.unref?.();
        }
      });
  }

  private launch(c: Claimed): void {
    this.inFlight++;
    const send: Promise<void> = this.attempt(c).then((d) => {
      this.sends.delete(send);
      this.done.push(d);
      this.scheduleFlush();
    });
    this.sends.add(send);
  }

  /** Records what came back, coalescing outcomes that arrive together into one transaction. */
  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = new Promise<void>((r) => setImmediate(r)).then(async () => {
      while (this.done.length > 0) await this.flush();
      this.flushing = undefined;
      this.pump();
    });
  }

  private async flush(): Promise<void> {
    const batch = this.done.splice(0);
    if (batch.length === 0) return;
    try {
      await this.record(batch);
    } catch (err) {
      // Their leases expire and they are sent again: at least once.
      this.log.error({ err, deliveries: batch.length }, 'recording webhook attempts failed');
    } finally {
      this.inFlight -= batch.length;
    }
  }

  private async attempt(c: Claimed): Promise<Done> {
    const startedAt = this.platform.clock.now();
    const outcome = await this.sender.send(c.hook, c.delivery, this.abort.signal);
    return { ...c, startedAt, outcome };
  }

  // ---- the database ---------------------------------------------------------------------------

  /** Leases up to `n` due deliveries in one transaction, each endpoint's in-flight limit kept. */
  async claim(n: number): Promise<{ batch: Claimed[]; more: boolean }> {
    const { database } = this.platform;
    const now = this.platform.clock.now();
    return database.db.transaction().execute(async (tx) => {
      await database.dialect.advisoryTransactionLock(tx, 'webhook-dispatch');
      const busy = await this.store.inFlight(tx, now);
      const full = [...busy].filter(([, b]) => b.n >= b.concurrency).map(([id]) => id);
      const read = Math.min(n * READ_AHEAD, CLAIM_READ);
      const due = await this.store.due(tx, now, full, read);
      if (due.length === 0) return { batch: [], more: false };
      const tenants = [...new Set(due.map((d) => d.tenant_id))];
      const endpoints = await this.store.endpoints(tx, tenants, [...new Set(due.map((d) => d.webhook_id))]);
      const hooks = new Map(endpoints.map((h) => [h.id, h]));
      const chosen: string[] = [];
      for (const d of due) {
        const hook = hooks.get(d.webhook_id);
        if (!hook || chosen.length >= n) continue;
        const b = busy.get(hook.id) ?? { n: 0, concurrency: hook.concurrency };
        if (b.n >= hook.concurrency) continue;
        b.n++;
        busy.set(hook.id, b);
        chosen.push(d.id);
      }
      const claimed: Claimed[] = [];
      const dropped: string[] = [];
      for (const delivery of await this.store.lease(tx, chosen, this.owner, now + this.leaseMs)) {
        const hook = hooks.get(delivery.webhook_id) as WebhookRow;
        // A disabled endpoint's pending deliveries fail without an attempt (they stay listed, and can be retried).
        if (!hook.active && delivery.kind !== 'test') dropped.push(delivery.id);
        else claimed.push({ delivery, hook });
      }
      if (dropped.length)
        await this.store.settle(tx, dropped, this.owner, { status: 'failed', next_attempt_at: null, updated_at: now }, false);
      return { batch: claimed, more: due.length === read && chosen.length === due.length };
    });
  }

  /** The outcomes of a batch, in one transaction: attempts, deliveries' next states, endpoints' health. */
  private async record(batch: Done[]): Promise<void> {
    let emitted = false;
    await this.platform.database.db.transaction().execute(async (tx) => {
      const now = this.platform.clock.now();
      // Deliveries with the same next state are settled by one statement.
      const groups = new Map<string, { set: Updateable<WebhookDeliveriesTable>; ids: string[] }>();
      const results = batch.map((d) => {
        const { delivery, hook, outcome: o } = d;
        const attempt = delivery.attempts + 1;
        const ok = o.status !== null && o.status >= 200 && o.status <= 299;
        const gone = o.status === 410;
        const schedule = hook.retry_schedule === null ? DEFAULT_RETRY_SCHEDULE_SECONDS : fromJson<number[]>(hook.retry_schedule);
        const retryIn = !ok && !gone && attempt <= schedule.length ? schedule[attempt - 1] * 1000 : undefined;
        const set = {
          last_status_code: o.status,
          status: ok ? ('succeeded' as const) : retryIn !== undefined ? ('pending' as const) : ('failed' as const),
          next_attempt_at: retryIn !== undefined ? now + retryIn : null,
          updated_at: now,
        };
        const key = `${set.status}:${set.last_status_code}:${set.next_attempt_at}`;
        const g = groups.get(key) ?? { set, ids: [] as string[] };
        g.ids.push(delivery.id);
        groups.set(key, g);
        return { ...d, attempt, ok, gone };
      });
      const held = new Set<string>();
      for (const g of groups.values()) for (const id of await this.store.settle(tx, g.ids, this.owner, g.set)) held.add(id);
      // A lost lease (this process was presumed dead): its new holder sends and records it.
      const kept = results.filter((r) => held.has(r.delivery.id));
      await this.store.insertAttempts(
        tx,
        kept.map((r) => ({
          delivery_id: r.delivery.id,
          tenant_id: r.delivery.tenant_id,
          attempt: r.attempt,
          started_at: r.startedAt,
          status_code: r.outcome.status,
          latency_ms: r.outcome.latencyMs,
          response: r.outcome.response,
          error: r.outcome.error,
        })),
      );
      const byHook = new Map<string, { hook: WebhookRow; oks: boolean[]; gone: boolean }>();
      for (const r of kept) {
        if (r.delivery.kind === 'test') continue; // a test says nothing about the endpoint's health
        const h = byHook.get(r.hook.id) ?? { hook: r.hook, oks: [], gone: false };
        h.oks.push(r.ok);
        h.gone ||= r.gone;
        byHook.set(r.hook.id, h);
      }
      for (const h of byHook.values()) emitted = (await this.health(tx, h.hook, h.oks, h.gone, now)) || emitted;
    });
    if (emitted) this.platform.events.wake();
  }

  /** Failed attempts in a row, counted in the database (so every process's attempts add up); disables at the limit or on 410. */
  private async health(tx: Executor, hook: WebhookRow, oks: boolean[], gone: boolean, now: number): Promise<boolean> {
    const lastOk = oks.lastIndexOf(true);
    const failures = oks.length - 1 - lastOk;
    const current = await this.store.countAttempts(tx, hook.tenant_id, hook.id, lastOk >= 0, failures);
    const reached = current?.consecutive_failures ?? 0;
    const reason = gone ? 'gone' : failures > 0 && reached >= hook.max_consecutive_failures ? 'too_many_failures' : undefined;
    if (!reason || !current?.active) return false;
    await this.store.update(tx, hook.tenant_id, hook.id, { active: 0, disabled_reason: reason, updated_at: now });
    await this.platform.events.emit(
      tx,
      'webhook.disabled',
      hook.id,
      { id: hook.id, url: hook.url, reason, consecutive_failures: reached },
      { tenantId: hook.tenant_id, source: `/webhooks/${hook.id}` },
    );
    return true;
  }
}
