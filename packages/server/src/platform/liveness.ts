import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Clock, Ids } from './crypto/index.js';
import type { DatabaseHandle, Executor } from './db/index.js';
import type { LoamProcessesTable } from './db/schema.js';

/** Expires the leases owned by names in [from, to) (one dead process's) in `tx`; returns how many. */
export type LeaseExpirer = (tx: Executor, from: string, to: string) => Promise<number>;

/** How often a process looks for dead lease holders: a dead one's leases are taken over within about this. */
const REAP_INTERVAL_MS = 500;

/**
 * Which Loam processes are alive, so that the leases of a killed one (jobs, the event relay's
 * cursors) are taken over at once instead of when they time out.
 *
 * Every process that holds leases registers itself in `loam_processes` with its host, process id
 * and start time, and on PostgreSQL holds a session advisory lock that the server releases when
 * the process's connection dies. Lease owners are `<process id>/<worker id>`. Every half second
 * each process checks the others: a process whose presence lock is free (PostgreSQL), or which runs
 * on this host and no longer exists (its pid is gone, a zombie, or reused by a process started at
 * another time), is dead: its leases are expired and its row removed. A holder that is alive but
 * silent keeps its leases until they time out, as before.
 */
export class Liveness {
  readonly id: string;
  private readonly host = hostname();
  private timer: NodeJS.Timeout | undefined;
  private releasePresence: (() => Promise<void>) | undefined;
  private starting: Promise<void> | undefined;
  private reaping: Promise<number> | undefined;
  private readonly takeoverListeners: Array<() => void> = [];
  private readonly leaseExpirers: LeaseExpirer[] = [];

  constructor(
    private readonly database: DatabaseHandle,
    private readonly clock: Clock,
    ids: Ids,
    private readonly log: Logger,
  ) {
    this.id = ids.new('proc');
  }

  /** A lease owner name for one worker of this process. */
  owner(workerId: string): string {
    return `${this.id}/${workerId}`;
  }

  /** Called after leases of a dead process were expired (so claimers look again at once). */
  onTakeover(fn: () => void): void {
    this.takeoverListeners.push(fn);
  }

  /**
   * Adds leases of a module's own table to those a dead process gives up: `expire` sets the
   * lease of every row whose owner is in [from, to) to expired, in the reaper's transaction, and
   * returns how many.
   */
  expireLeasesWith(expire: LeaseExpirer): void {
    this.leaseExpirers.push(expire);
  }

  /** Registers this process and starts looking for dead ones (idempotent). */
  start(): Promise<void> {
    this.starting ??= this.register().then(
      () => {
        this.schedule(0);
      },
      (err) => this.log.error({ err }, 'process registration failed: leases of a killed process will wait for their timeout'),
    );
    return this.starting;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.starting) return;
    await this.starting;
    this.starting = undefined;
    await this.reaping;
    await this.database.db
      .deleteFrom('loam_processes')
      .where('id', '=', this.id)
      .execute()
      .catch(() => {});
    await this.releasePresence?.();
    this.releasePresence = undefined;
  }

  /** Expires the leases of every dead process and forgets it; returns how many were found. */
  reap(): Promise<number> {
    this.reaping ??= this.reapOnce().finally(() => {
      this.reaping = undefined;
    });
    return this.reaping;
  }

  private async register(): Promise<void> {
    const { db, dialect } = this.database;
    // The lock first: a row without it could be taken for a dead process.
    this.releasePresence = await dialect.holdPresence(this.id, (err) =>
      this.log.warn({ err: { message: err.message } }, 'presence connection lost; reconnecting'),
    );
    await db
      .insertInto('loam_processes')
      .values({ id: this.id, host: this.host, pid: process.pid, started: startTimeOf(process.pid) ?? '', created_at: this.clock.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.reap()
        .catch((err) => this.log.warn({ err }, 'looking for dead processes failed'))
        .finally(() => {
          if (this.timer) this.schedule(REAP_INTERVAL_MS);
        });
    }, ms);
    this.timer.unref?.();
  }

  private async reapOnce(): Promise<number> {
    const { db } = this.database;
    const others = await db.selectFrom('loam_processes').selectAll().where('id', '!=', this.id).execute();
    let dead = 0;
    for (const proc of others) {
      if (!(await this.isDead(proc))) continue;
      dead++;
      // Owners `<id>/…` sort between `<id>/` and `<id>0` ('0' follows '/'): a range, no LIKE escaping.
      const [from, to] = [`${proc.id}/`, `${proc.id}0`];
      const expired = await db.transaction().execute(async (tx) => {
        const jobs = await tx
          .updateTable('jobs')
          .set({ lease_until: 0 })
          .where('status', '=', 'running')
          .where('lease_owner', '>=', from)
          .where('lease_owner', '<', to)
          .executeTakeFirst();
        const cursors = await tx
          .updateTable('outbox_cursors')
          .set({ lease_until: 0 })
          .where('lease_owner', '>=', from)
          .where('lease_owner', '<', to)
          .executeTakeFirst();
        let more = 0;
        for (const expire of this.leaseExpirers) more += await expire(tx, from, to);
        await tx.deleteFrom('loam_processes').where('id', '=', proc.id).execute();
        return Number(jobs.numUpdatedRows) + Number(cursors.numUpdatedRows) + more;
      });
      this.log.info({ process: proc.id, host: proc.host, pid: proc.pid, leases: expired }, 'process is gone; taking over its leases');
    }
    if (dead > 0) for (const fn of this.takeoverListeners) fn();
    return dead;
  }

  private async isDead(proc: LoamProcessesTable): Promise<boolean> {
    const gone = await this.database.dialect.presenceGone(this.database.db, proc.id);
    if (gone !== undefined) return gone;
    // Without a lock server, only a process on this host can be checked.
    return proc.host === this.host && !processAlive(proc.pid, proc.started);
  }
}

/** Whether `pid` runs and is the process that started at `started` (not a zombie, not a reused pid). */
export function processAlive(pid: number, started: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readStat(pid);
  if (!stat) return true;
  if (stat.state === 'Z' || stat.state === 'X') return false;
  return started === '' || stat.started === started;
}

/** The kernel's start time of `pid` (clock ticks since boot), where /proc tells it. */
export function startTimeOf(pid: number): string | undefined {
  return readStat(pid)?.started;
}

function readStat(pid: number): { state: string; started: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // Field 3 is the state, field 22 the start time; `fields` starts at field 3.
  return { state: fields[0], started: fields[19] };
}
