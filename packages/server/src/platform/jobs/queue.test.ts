import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, ManualClock, POSTGRES_URL, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { Ids, systemRandom } from '../crypto/index.js';
import { type DatabaseHandle, openDatabase } from '../db/index.js';
import { JobQueue, PermanentJobError } from './queue.js';

const silent = pino({ level: 'silent' });
const LEASE_MS = 30_000;

/** A second worker process, as far as the queue can tell: its own owner id, same database. */
function newQueue(database: DatabaseHandle, clock: ManualClock, leaseMs = LEASE_MS): JobQueue {
  return new JobQueue(database, clock, new Ids(clock, systemRandom), systemRandom, silent, { pollMs: 20, leaseMs });
}

async function row(t: TestLoam, id: string) {
  return t.loam.platform.database.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

describeEachDialect('job queue', (dialect) => {
  let t: TestLoam;
  let clock: ManualClock;
  let q: JobQueue;
  let n = 0;
  /** A fresh job kind per test, so registrations and leftover jobs never cross tests. */
  const kind = () => `test.kind${++n}`;

  beforeAll(async () => {
    clock = new ManualClock();
    t = await createTestLoam({ dialect, clock, http: false });
  });
  afterAll(() => t.close());
  afterEach(async () => {
    await q?.stop(1000);
  });

  /** Enqueues through the test's queue `q` (whose registration supplies max attempts). */
  const enqueue = (k: string, payload: unknown, opts = {}) => t.loam.platform.transaction((tx) => q.enqueue(tx, k, payload, opts));

  it('an enqueue in a transaction that rolls back leaves no job', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    const ran: unknown[] = [];
    q.register(k, async ({ job }) => {
      ran.push(job.payload);
    });
    let id = '';
    await expect(
      t.loam.platform.transaction(async (tx) => {
        id = (await t.loam.platform.jobs.enqueue(tx, k, { n: 1 })).id;
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(id).toMatch(/^job_/);
    expect(await t.loam.platform.jobs.get(id)).toBeUndefined();
    expect(await q.drain()).toBe(0);
    expect(ran).toEqual([]);
  });

  it('runs a job, stores its result, and keeps the payload intact', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    q.register(k, async ({ job }) => ({ doubled: (job.payload as { n: number }).n * 2 }));
    const { id, created } = await enqueue(k, { n: 21 }, { tenantId: 'default' });
    expect(created).toBe(true);
    expect(await q.drain()).toBe(1);
    const job = await q.get(id, 'default');
    expect(job).toMatchObject({ status: 'succeeded', attempts: 1, result: { doubled: 42 }, payload: { n: 21 }, lastError: null });
    expect(job?.finishedAt).toBe(clock.now());
    expect(await q.get(id, 'other-tenant')).toBeUndefined();
  });

  it('does not run a job before its run_at', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    q.register(k, async () => {});
    const { id } = await enqueue(k, {}, { runAt: clock.now() + 60_000 });
    expect(await q.drain()).toBe(0);
    clock.advance(60_000);
    expect(await q.drain()).toBe(1);
    expect((await q.get(id))?.status).toBe('succeeded');
  });

  it('retries failures with exponential backoff and jitter, then moves the job to dead', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    let calls = 0;
    q.register(
      k,
      async () => {
        calls++;
        throw new Error(`boom ${calls}`);
      },
      { maxAttempts: 4, backoffMs: 1000 },
    );
    const { id } = await enqueue(k, {});
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const before = clock.now();
      expect(await q.drain()).toBe(1);
      const job = await q.get(id);
      expect(job).toMatchObject({ status: 'queued', attempts: attempt, lastError: `boom ${attempt}` });
      const delay = (job?.runAt ?? 0) - before;
      // Equal jitter: between half and all of base * 2^(attempt-1).
      const exp = 1000 * 2 ** (attempt - 1);
      expect(delay).toBeGreaterThanOrEqual(exp / 2);
      expect(delay).toBeLessThanOrEqual(exp);
      delays.push(delay);
      // Not due yet: nothing runs until the backoff has passed.
      expect(await q.drain()).toBe(0);
      clock.advance(delay);
    }
    // Each wait is at least the previous one's lower bound doubled, so it grows.
    expect(delays[2]).toBeGreaterThan(delays[0]);
    expect(await q.drain()).toBe(1);
    const dead = await q.get(id);
    expect(dead).toMatchObject({ status: 'dead', attempts: 4, lastError: 'boom 4' });
    expect(dead?.finishedAt).toBe(clock.now());
    clock.advance(3_600_000);
    expect(await q.drain()).toBe(0);
    expect(calls).toBe(4);
  });

  it('jitter spreads retries: backoff is not the same for every job', () => {
    q = newQueue(t.loam.platform.database, clock);
    const values = new Set(Array.from({ length: 20 }, () => q.backoff(1000, 3)));
    expect(values.size).toBeGreaterThan(1);
    for (const v of values) expect(v).toBeGreaterThanOrEqual(2000);
    expect(q.backoff(1000, 40)).toBeLessThanOrEqual(3_600_000);
  });

  it('a PermanentJobError makes the job dead at once', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    q.register(
      k,
      async () => {
        throw new PermanentJobError('bad input');
      },
      { maxAttempts: 5 },
    );
    const { id } = await enqueue(k, {});
    expect(await q.drain()).toBe(1);
    expect(await q.get(id)).toMatchObject({ status: 'dead', attempts: 1, lastError: 'bad input' });
  });

  it('complete(tx): the job succeeds in the commit of its own work, with the result given there', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    let seenInside: unknown;
    q.register(k, async ({ job, complete }) => {
      await t.loam.platform.transaction(async (tx) => {
        await complete(tx, { recorded: 'in the transaction' });
        // Inside the transaction the job is already finished; outside, nothing is visible yet.
        seenInside = (await tx.selectFrom('jobs').select('status').where('id', '=', job.id).executeTakeFirstOrThrow()).status;
      });
      return 'not recorded again';
    });
    const { id } = await enqueue(k, {});
    expect(await q.drain()).toBe(1);
    expect(seenInside).toBe('succeeded');
    expect(await q.get(id)).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { recorded: 'in the transaction' },
      lastError: null,
    });
  });

  it('complete(tx) in a transaction that rolls back records nothing: the attempt fails and is retried', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    q.register(
      k,
      async ({ complete }) => {
        await t.loam.platform.transaction(async (tx) => {
          await complete(tx, 'never');
          throw new Error('work failed after complete');
        });
      },
      { maxAttempts: 3 },
    );
    const { id } = await enqueue(k, {});
    expect(await q.drain()).toBe(1);
    expect(await q.get(id)).toMatchObject({ status: 'queued', attempts: 1, lastError: 'work failed after complete', result: null });
  });

  it('a handler that fails after its complete(tx) committed leaves the job succeeded', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    q.register(k, async ({ complete }) => {
      await t.loam.platform.transaction((tx) => complete(tx, 'done'));
      throw new Error('cleanup failed');
    });
    const { id } = await enqueue(k, {});
    expect(await q.drain()).toBe(1);
    expect(await q.get(id)).toMatchObject({ status: 'succeeded', attempts: 1, result: 'done', lastError: null });
    expect(await q.drain()).toBe(0);
  });

  it('onClaim runs in the claim transaction with the claimed jobs of its kind; a failing hook undoes the claim', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    const other = kind();
    const hooked: { ids: string[]; statuses: string[] }[] = [];
    let failHook = true;
    q.register(k, async () => {}, {
      onClaim: async (tx, jobs) => {
        const rows = await tx
          .selectFrom('jobs')
          .select('status')
          .where(
            'id',
            'in',
            jobs.map((j) => j.id),
          )
          .execute();
        hooked.push({ ids: jobs.map((j) => j.id), statuses: rows.map((r) => r.status) });
        if (failHook) throw new Error('hook failed');
      },
    });
    q.register(other, async () => {});
    const a = await enqueue(k, {});
    const b = await enqueue(k, {});
    const c = await enqueue(other, {});
    await expect(q.claim(10)).rejects.toThrow('hook failed');
    for (const { id } of [a, b, c]) expect(await q.get(id)).toMatchObject({ status: 'queued', attempts: 0 });
    failHook = false;
    hooked.length = 0;
    const claimed = await q.claim(10);
    expect(claimed.map((j) => j.id).sort()).toEqual([a.id, b.id, c.id].sort());
    // Called once, with this kind's jobs only, seeing them already claimed.
    expect(hooked).toEqual([{ ids: expect.arrayContaining([a.id, b.id]), statuses: ['running', 'running'] }]);
    expect(hooked[0].ids).toHaveLength(2);
  });

  it('a unique key dedups while queued or running, and can be enqueued again after success', async () => {
    q = newQueue(t.loam.platform.database, clock);
    const k = kind();
    const key = `dedup-${k}`;
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let runs = 0;
    q.register(k, async () => {
      runs++;
      await gate;
    });
    const a = await enqueue(k, { v: 1 }, { key });
    const b = await enqueue(k, { v: 2 }, { key });
    expect(a.created).toBe(true);
    expect(b).toEqual({ id: a.id, created: false });
    expect(await q.activeKeys([key, `other-${k}`])).toEqual(new Set([key]));

    // While running, the key still dedups.
    q.start(1);
    await eventually(async () => (await q.get(a.id))?.status === 'running');
    const c = await enqueue(k, { v: 3 }, { key });
    expect(c).toEqual({ id: a.id, created: false });
    release();
    await eventually(async () => (await q.get(a.id))?.status === 'succeeded');
    await q.stop();
    expect(await q.activeKeys([key])).toEqual(new Set());

    const d = await enqueue(k, { v: 4 }, { key });
    expect(d.created).toBe(true);
    expect(d.id).not.toBe(a.id);
    expect(await q.drain()).toBe(1);
    expect(runs).toBe(2);
    // Jobs without a key never dedup.
    const e = await enqueue(k, {});
    const f = await enqueue(k, {});
    expect(e.id).not.toBe(f.id);
  });

  it('recovers a job whose worker died: another worker claims it once the lease expires', async () => {
    const k = kind();
    const crashed = newQueue(t.loam.platform.database, clock);
    crashed.register(k, async () => {
      throw new Error('never called: this worker "dies" after claiming');
    });
    q = newQueue(t.loam.platform.database, clock);
    const ran: string[] = [];
    q.register(k, async ({ job }) => {
      ran.push(job.id);
      return 'done';
    });
    const { id } = await enqueue(k, {});
    const [claimed] = await crashed.claim(1);
    expect(claimed.id).toBe(id);
    expect((await row(t, id)).status).toBe('running');

    // The lease still holds: nobody else may take the job.
    clock.advance(LEASE_MS - 1);
    expect(await q.drain()).toBe(0);
    clock.advance(2);
    expect(await q.drain()).toBe(1);
    expect(ran).toEqual([id]);
    expect(await q.get(id)).toMatchObject({ status: 'succeeded', attempts: 2, result: 'done' });
  });

  it('a job that used its last attempt and then lost its worker goes dead', async () => {
    const k = kind();
    const crashed = newQueue(t.loam.platform.database, clock);
    crashed.register(k, async () => {});
    q = newQueue(t.loam.platform.database, clock);
    let ran = 0;
    q.register(k, async () => {
      ran++;
    });
    const { id } = await enqueue(k, {}, { maxAttempts: 1 });
    expect(await crashed.claim(1)).toHaveLength(1);
    clock.advance(LEASE_MS + 1);
    expect(await q.drain()).toBe(0);
    expect(ran).toBe(0);
    const job = await q.get(id);
    expect(job?.status).toBe('dead');
    expect(job?.lastError).toMatch(/lease/);
  });

  it('a finished report from a worker that lost its lease is ignored', async () => {
    const k = kind();
    const slow = newQueue(t.loam.platform.database, clock);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    slow.register(k, async () => {
      await gate;
      return 'late';
    });
    q = newQueue(t.loam.platform.database, clock);
    q.register(k, async () => 'fresh');
    const { id } = await enqueue(k, {});
    const slowRun = slow.drain(1);
    await eventually(async () => (await row(t, id)).status === 'running');
    clock.advance(LEASE_MS + 1); // the heartbeat (every LEASE_MS / 3 of real time) has not run yet
    expect(await q.drain()).toBe(1);
    release();
    await slowRun;
    expect(await q.get(id)).toMatchObject({ status: 'succeeded', result: 'fresh' });
  });

  it('a worker whose job was taken over is told to stop through its abort signal', async () => {
    const k = kind();
    const leaseMs = 150; // heartbeat every 50 ms of real time
    const presumedDead = newQueue(t.loam.platform.database, clock, leaseMs);
    let abortReason = '';
    presumedDead.register(
      k,
      ({ signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            abortReason = String((signal.reason as Error).message);
            reject(signal.reason);
          });
        }),
    );
    q = newQueue(t.loam.platform.database, clock, leaseMs);
    q.register(k, async () => 'taken over');
    const { id } = await enqueue(k, {});
    const first = presumedDead.drain(1);
    await eventually(async () => (await row(t, id)).status === 'running');
    clock.advance(leaseMs * 100);
    // The heartbeat (real time) may extend the lease again between the advance and the claim on a
    // loaded machine: move past whatever it holds now until the other worker takes the job.
    await eventually(async () => {
      clock.advance(Number((await row(t, id)).lease_until) - clock.now() + 1);
      return (await q.drain()) === 1;
    });
    await first;
    expect(abortReason).toMatch(/lease lost/);
    expect(await q.get(id)).toMatchObject({ status: 'succeeded', result: 'taken over' });
  });

  it('heartbeats keep the lease of a long job, so no other worker takes it', async () => {
    const k = kind();
    const leaseMs = 150; // heartbeat every 50 ms of real time
    const busy = newQueue(t.loam.platform.database, clock, leaseMs);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let runs = 0;
    busy.register(k, async () => {
      runs++;
      await gate;
    });
    q = newQueue(t.loam.platform.database, clock, leaseMs);
    q.register(k, async () => {
      runs++;
    });
    const { id } = await enqueue(k, {});
    busy.start(1);
    await eventually(async () => (await row(t, id)).status === 'running');
    for (let i = 0; i < 3; i++) {
      // Move the clock past the previous lease, then wait until a heartbeat extends it.
      clock.advance(leaseMs - 10);
      const target = clock.now() + leaseMs;
      await eventually(async () => Number((await row(t, id)).lease_until) === target);
      expect(await q.claim(1)).toEqual([]);
    }
    release();
    await eventually(async () => (await q.get(id))?.status === 'succeeded');
    await busy.stop();
    expect(runs).toBe(1);
  });

  it('stop() waits for a running job to finish', async () => {
    const k = kind();
    q = newQueue(t.loam.platform.database, clock);
    let finished = false;
    let started!: () => void;
    const isStarted = new Promise<void>((r) => {
      started = r;
    });
    q.register(k, async () => {
      started();
      await new Promise((r) => setTimeout(r, 100));
      finished = true;
    });
    const { id } = await enqueue(k, {});
    q.start(2);
    await isStarted;
    await q.stop(5000);
    expect(finished).toBe(true);
    expect((await q.get(id))?.status).toBe('succeeded');
  });

  it('stop() aborts a job that outlives the deadline; its lease lets another worker retry it', async () => {
    const k = kind();
    const stuck = newQueue(t.loam.platform.database, clock);
    q = stuck;
    let aborted = false;
    stuck.register(k, ({ signal }) => {
      return new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason);
        });
      });
    });
    const { id } = await enqueue(k, {});
    stuck.start(1);
    await eventually(async () => (await row(t, id)).status === 'running');
    await stuck.stop(50);
    expect(aborted).toBe(true);
    // The aborted attempt counts as a failure and is retried later, not lost.
    const job = await stuck.get(id);
    expect(job?.status).toBe('queued');
    expect(job?.lastError).toMatch(/shutting down/);
  });

  it('wakes workers right after the enqueueing transaction commits', async () => {
    // A poll interval far longer than the test: only the wake-up after commit can run the job in time.
    const slowPoll = await createTestLoam({ dialect, http: false, config: { jobPollMs: 600_000 } });
    try {
      const k = kind();
      const ran: string[] = [];
      const { jobs } = slowPoll.loam.platform;
      jobs.register(k, async ({ job }) => {
        ran.push(job.id);
      });
      jobs.start(1);
      await new Promise((r) => setTimeout(r, 50)); // let the first (empty) claim pass
      const { id } = await slowPoll.loam.platform.transaction((tx) => jobs.enqueue(tx, k, {}));
      await eventually(() => ran.includes(id), 3000);
    } finally {
      await slowPoll.close();
    }
  });
});

describe.runIf(POSTGRES_URL)('job queue [postgres]: two worker processes', () => {
  let t: TestLoam;
  let other: DatabaseHandle;
  beforeAll(async () => {
    t = await createTestLoam({ dialect: 'postgres', http: false });
    other = openDatabase({ url: t.databaseUrl, sqlitePath: '', poolMax: 10 });
  });
  afterAll(async () => {
    await other?.close();
    await t?.close();
  });

  it('never runs the same job twice when two queues on two pools drain concurrently', async () => {
    const clock = new ManualClock(Date.now());
    const runs: string[] = [];
    const handler = async ({ job }: { job: { id: string } }) => {
      runs.push(job.id);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 3)));
    };
    const a = newQueue(t.loam.platform.database, clock);
    const b = newQueue(other, clock);
    a.register('test.concurrent', handler);
    b.register('test.concurrent', handler);
    const ids = await t.loam.platform.transaction(async (tx) => {
      const out: string[] = [];
      for (let i = 0; i < 200; i++) out.push((await a.enqueue(tx, 'test.concurrent', { i })).id);
      return out;
    });
    a.start(8);
    b.start(8);
    try {
      await eventually(async () => (await a.depth()).succeeded === 200, 20_000);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(runs).toHaveLength(200);
    expect(new Set(runs).size).toBe(200);
    expect(new Set(runs)).toEqual(new Set(ids));
    // Both workers took part (the queue is shared, not owned by one process).
    const attempts = await t.loam.platform.database.db
      .selectFrom('jobs')
      .select('attempts')
      .where('kind', '=', 'test.concurrent')
      .execute();
    expect(attempts.every((r) => Number(r.attempts) === 1)).toBe(true);
  });
});

if (!POSTGRES_URL)
  describe.skip('job queue [postgres]: two worker processes — skipped: no PostgreSQL (set LOAM_TEST_POSTGRES_URL)', () => {});
