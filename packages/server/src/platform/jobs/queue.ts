import { type Selectable, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Clock, Ids, Random } from '../crypto/index.js';
import { type DatabaseHandle, type Executor, fromJson, toJson, wakeOnCommit } from '../db/index.js';
import type { JobsTable } from '../db/schema.js';
import type { Tracing } from '../tracing.js';

export type JobStatus = 'queued' | 'running' | 'succeeded' | 'dead';

export interface JobRecord<P = unknown> {
  id: string;
  tenantId: string | null;
  kind: string;
  key: string | null;
  payload: P;
  status: JobStatus;
  attempts: number;
  maxAttempts: number;
  runAt: number;
  lastError: string | null;
  result: unknown;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

export interface JobContext<P = unknown> {
  job: JobRecord<P>;
  /** Aborted when the worker shuts down or the job's lease is lost. */
  signal: AbortSignal;
  /**
   * Records the job's success with `result` inside `tx`, the transaction that commits the
   * handler's work: the work and the job's completion commit together (one commit fewer, and
   * no moment where the work is done but the job still looks unfinished). The handler's return
   * value is then not recorded again. Call it last in the transaction; a transaction that rolls
   * back must make the handler throw (the attempt then fails as usual).
   */
  complete(tx: Executor, result?: unknown): Promise<void>;
}

export type JobHandler<P = unknown> = (ctx: JobContext<P>) => Promise<unknown>;

/** Runs inside the transaction that claims jobs of a kind, with the jobs of that kind it claimed. */
export type ClaimHook<P = unknown> = (tx: Executor, jobs: JobRecord<P>[]) => Promise<void>;

export interface RegisterOptions<P = unknown> {
  maxAttempts?: number;
  backoffMs?: number;
  /**
   * Runs in the claim's transaction (so it commits with the claim, one commit for a whole batch
   * of jobs), for the state change that says the jobs' work has started, e.g. an item moving to
   * PROCESSING. It must not fail for one job's sake: a failure undoes the whole claim.
   */
  onClaim?: ClaimHook<P>;
}

/** A kind's handler, its payload type erased: payloads are JSON read back from the jobs table. */
interface Registration {
  handler: JobHandler;
  maxAttempts: number;
  backoffMs: number;
  onClaim?: ClaimHook;
}

export interface EnqueueOptions {
  tenantId?: string | null;
  /** Epoch milliseconds; default now. */
  runAt?: number;
  maxAttempts?: number;
  /** While a job with this key is queued or running, enqueueing the same key returns it instead. */
  key?: string;
}

/**
 * A process-local worker of its own (e.g. the webhook dispatcher) that runs where the job workers
 * run: started and stopped with them, and woken after a commit that enqueued jobs or made webhook
 * deliveries due (`wakeOnCommit`).
 */
export interface WorkerLoop {
  start(): void;
  stop(deadlineMs: number): Promise<void>;
  wake(): void;
}

/** Thrown by a handler to fail a job at once, with no further attempts. */
export class PermanentJobError extends Error {}

/**
 * Durable job queue on the database. Workers claim due jobs with a lease (PostgreSQL:
 * `FOR UPDATE SKIP LOCKED`, so workers on many machines share it), heartbeat while running,
 * retry failures with exponential backoff and jitter, and move a job to `dead` after its last
 * attempt. A job whose worker died is claimed again when its lease expires.
 */
export class JobQueue {
  private readonly registry = new Map<string, Registration>();
  private readonly owner: string;
  private running = false;
  private wasStopped = false;
  private readonly active = new Map<string, { promise: Promise<void>; abort: AbortController }>();
  private timer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private wakeRequested = false;
  private concurrency = 0;
  private readonly loops: WorkerLoop[] = [];

  constructor(
    private readonly database: DatabaseHandle,
    private readonly clock: Clock,
    private readonly ids: Ids,
    private readonly random: Random,
    private readonly log: Logger,
    /** `owner`: the lease owner's name (platform/liveness.ts names it after the process). */
    private readonly opts: { pollMs: number; leaseMs: number; owner?: string; tracing?: Tracing },
  ) {
    this.owner = opts.owner ?? ids.new('wrk');
  }

  register<P>(kind: string, handler: JobHandler<P>, opts: RegisterOptions<P> = {}): void {
    if (this.registry.has(kind)) throw new Error(`duplicate job kind ${kind}`);
    // The kind names the payload type: jobs of `kind` carry the payload `enqueue<P>` wrote for it.
    this.registry.set(kind, {
      handler: handler as JobHandler,
      maxAttempts: opts.maxAttempts ?? 5,
      backoffMs: opts.backoffMs ?? 1000,
      onClaim: opts.onClaim as ClaimHook | undefined,
    });
  }

  /** Adds a job inside `tx`; it becomes visible to workers when `tx` commits. */
  async enqueue<P>(tx: Executor, kind: string, payload: P, opts: EnqueueOptions = {}): Promise<{ id: string; created: boolean }> {
    const reg = this.registry.get(kind);
    const now = this.clock.now();
    const id = this.ids.new('job');
    const inserted = await tx
      .insertInto('jobs')
      .values({
        id,
        tenant_id: opts.tenantId ?? null,
        kind,
        key: opts.key ?? null,
        payload: toJson(payload),
        status: 'queued',
        attempts: 0,
        max_attempts: opts.maxAttempts ?? reg?.maxAttempts ?? 5,
        run_at: opts.runAt ?? now,
        created_at: now,
        updated_at: now,
      })
      // The conflict target must repeat the partial index's predicate literally (SQLite and
      // PostgreSQL match it textually / by proof, and a bound parameter matches neither).
      .onConflict((oc) => oc.column('key').where(sql<boolean>`status in ('queued', 'running')`).doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) {
      if (!wakeOnCommit(tx, 'jobs')) this.wake();
      return { id, created: true };
    }
    const existing = await tx
      .selectFrom('jobs')
      .select('id')
      .where('key', '=', opts.key ?? null)
      .where('status', 'in', ['queued', 'running'])
      .executeTakeFirstOrThrow();
    return { id: existing.id, created: false };
  }

  async get(id: string, tenantId?: string): Promise<JobRecord | undefined> {
    let q = this.database.db.selectFrom('jobs').selectAll().where('id', '=', id);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const row = await q.executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /**
   * Of `keys`, those a queued or running job holds (see `EnqueueOptions.key`): e.g. to find work
   * whose job died for good. Any number of keys; looked up 500 at a time.
   */
  async activeKeys(keys: readonly string[]): Promise<Set<string>> {
    const active = new Set<string>();
    for (let i = 0; i < keys.length; i += 500) {
      const rows = await this.database.db
        .selectFrom('jobs')
        .select('key')
        .where('key', 'in', keys.slice(i, i + 500))
        // Literal, as the partial index jobs_active_key's predicate, so the index serves it.
        .where(sql<boolean>`status in ('queued', 'running')`)
        .execute();
      for (const r of rows) if (r.key !== null) active.add(r.key);
    }
    return active;
  }

  /** Job counts per status, for metrics. */
  async depth(): Promise<Record<JobStatus, number>> {
    const rows = await this.database.db
      .selectFrom('jobs')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    const out: Record<JobStatus, number> = { queued: 0, running: 0, succeeded: 0, dead: 0 };
    for (const r of rows) out[r.status as JobStatus] = Number(r.n);
    return out;
  }

  /** Adds a worker loop that starts, stops and wakes with this process's job workers. */
  attach(loop: WorkerLoop): void {
    this.loops.push(loop);
    if (this.running) loop.start();
  }

  /**
   * Whether this process's workers were started and then stopped (it is shutting down): work
   * enqueued now would wait for another process. A process that runs no workers (a replica whose
   * jobs `loam worker` runs) is not stopped.
   */
  get stopped(): boolean {
    return this.wasStopped && !this.running;
  }

  /** Starts `concurrency` workers in this process, and the attached loops. */
  start(concurrency: number): void {
    if (this.running || concurrency <= 0) return;
    this.wasStopped = false;
    this.running = true;
    this.concurrency = concurrency;
    for (const loop of this.loops) loop.start();
    this.schedule(0);
  }

  /** Stops claiming; waits up to `deadlineMs` for running jobs, then aborts them (their leases expire). */
  async stop(deadlineMs = 10_000): Promise<void> {
    const wasRunning = this.running;
    this.running = false;
    this.wasStopped = true;
    clearTimeout(this.timer);
    await this.loop;
    if (wasRunning) await Promise.all(this.loops.map((l) => l.stop(deadlineMs)));
    const all = Promise.allSettled([...this.active.values()].map((a) => a.promise));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const a of this.active.values()) a.abort.abort(new Error('worker shutting down'));
      await all;
    }
  }

  /** The attached loops only (a commit that created webhook deliveries, not jobs). */
  wakeLoops(): void {
    if (this.running) for (const loop of this.loops) loop.wake();
  }

  wake(): void {
    if (!this.running) return;
    for (const loop of this.loops) loop.wake();
    if (this.loop) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.loop = this.fill()
        .catch((err) => this.log.error({ err }, 'job claim failed'))
        .finally(() => {
          this.loop = undefined;
          if (!this.running) return;
          const again = this.wakeRequested;
          this.wakeRequested = false;
          this.schedule(again ? 0 : this.opts.pollMs);
        });
    }, ms);
    this.timer.unref?.();
  }

  private async fill(): Promise<void> {
    const free = this.concurrency - this.active.size;
    if (free <= 0) return;
    const jobs = await this.claim(free);
    for (const job of jobs) this.launch(job);
    if (jobs.length === free) this.wakeRequested = true;
  }

  private launch(job: JobRecord): void {
    const abort = new AbortController();
    const promise = this.execute(job, abort).finally(() => {
      this.active.delete(job.id);
      this.wake();
    });
    this.active.set(job.id, { promise, abort });
  }

  /**
   * Claims and runs every due job until none is left, one claim at a time. For tests and
   * `loam worker --once`; returns the number of jobs run.
   */
  async drain(limit = 1000): Promise<number> {
    let n = 0;
    while (n < limit) {
      const [job] = await this.claim(1);
      if (!job) break;
      await this.execute(job, new AbortController());
      n++;
    }
    return n;
  }

  /** Claims up to `n` due jobs of registered kinds, including running jobs whose lease expired. */
  async claim(n: number): Promise<JobRecord[]> {
    const kinds = [...this.registry.keys()];
    if (kinds.length === 0) return [];
    const now = this.clock.now();
    const db = this.database.db;
    const due = this.database.dialect.dueJobs(db, kinds, now, n);
    const take = async (tx: Executor): Promise<JobRecord[]> => {
      const rows = await tx
        .updateTable('jobs')
        .set({
          status: 'running',
          lease_owner: this.owner,
          lease_until: now + this.opts.leaseMs,
          attempts: sql`attempts + 1`,
          updated_at: now,
        })
        .where('id', 'in', due)
        .returningAll()
        .execute();
      const claimed: JobRecord[] = [];
      for (const row of rows) {
        const job = toRecord(row);
        // A job that exhausted its attempts and then lost its worker is dead, not retried again.
        if (job.attempts > job.maxAttempts) {
          await this.finish(job, 'dead', { last_error: job.lastError ?? 'worker lost its lease (crashed or hung)' }, tx);
          continue;
        }
        claimed.push(job);
      }
      for (const kind of new Set(claimed.map((j) => j.kind))) {
        const hook = this.registry.get(kind)?.onClaim;
        if (hook)
          await hook(
            tx,
            claimed.filter((j) => j.kind === kind),
          );
      }
      return claimed;
    };
    // One statement needs no transaction of its own; a claim with hooks commits as one.
    const claimed = kinds.some((k) => this.registry.get(k)?.onClaim) ? await db.transaction().execute(take) : await take(db);
    claimed.sort((a, b) => a.runAt - b.runAt || a.id.localeCompare(b.id));
    return claimed;
  }

  private async execute(job: JobRecord, abort: AbortController): Promise<void> {
    const reg = this.registry.get(job.kind);
    if (!reg) return;
    const signal = abort.signal;
    const heartbeat = setInterval(
      () => {
        this.database.db
          .updateTable('jobs')
          .set({ lease_until: this.clock.now() + this.opts.leaseMs })
          .where('id', '=', job.id)
          .where('lease_owner', '=', this.owner)
          .executeTakeFirst()
          .then((r) => {
            // Another worker took the job over (this one was presumed dead): stop duplicating work.
            if (r.numUpdatedRows === 0n && !signal.aborted) abort.abort(new Error('job lease lost to another worker'));
          })
          .catch((err) => this.log.warn({ err, job: job.id }, 'job heartbeat failed'));
      },
      Math.max(50, Math.floor(this.opts.leaseMs / 3)),
    );
    heartbeat.unref?.();
    let completed = false;
    const complete = async (tx: Executor, result?: unknown) => {
      await this.finish(job, 'succeeded', { result: toJson(result ?? null), last_error: null }, tx);
      completed = true;
    };
    try {
      const run = () => reg.handler({ job, signal, complete });
      const result = await (this.opts.tracing ? this.opts.tracing.job(job.kind, job.id, run) : run());
      if (!completed) await this.finish(job, 'succeeded', { result: toJson(result ?? null), last_error: null });
    } catch (err) {
      // (After a `complete` whose transaction committed, the job is finished and the failure
      // below changes nothing: `finish` only touches a job this worker still holds.)
      const message = err instanceof Error ? err.message : String(err);
      const permanent = err instanceof PermanentJobError;
      if (permanent || job.attempts >= job.maxAttempts) {
        this.log.error({ err, job: job.id, kind: job.kind, attempts: job.attempts }, 'job failed for good');
        await this.finish(job, 'dead', { last_error: message });
      } else {
        const delay = this.backoff(reg.backoffMs, job.attempts);
        this.log.warn({ err, job: job.id, kind: job.kind, attempts: job.attempts, retry_in_ms: delay }, 'job failed; retrying');
        await this.finish(job, 'queued', { last_error: message, run_at: this.clock.now() + delay });
      }
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Exponential backoff with "equal jitter": half fixed, half random; capped at one hour. */
  backoff(baseMs: number, attempt: number): number {
    const exp = Math.min(3_600_000, baseMs * 2 ** Math.max(0, attempt - 1));
    const jitter = this.random.bytes(4).readUInt32BE(0) / 0xffffffff;
    return Math.round(exp / 2 + (exp / 2) * jitter);
  }

  private async finish(job: JobRecord, status: JobStatus, set: Record<string, unknown>, tx: Executor = this.database.db): Promise<void> {
    const now = this.clock.now();
    await tx
      .updateTable('jobs')
      .set({
        ...set,
        status,
        lease_owner: null,
        lease_until: null,
        updated_at: now,
        finished_at: status === 'succeeded' || status === 'dead' ? now : null,
      })
      .where('id', '=', job.id)
      .where('lease_owner', '=', this.owner)
      .execute();
  }
}

function toRecord(row: Selectable<JobsTable>): JobRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    key: row.key,
    payload: fromJson(row.payload),
    status: row.status,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    runAt: row.run_at,
    lastError: row.last_error,
    result: row.result == null ? null : fromJson(row.result),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}
