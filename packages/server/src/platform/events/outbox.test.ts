import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, ManualClock, POSTGRES_URL, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { systemClock } from '../time.js';
import { type CloudEvent, EventOutbox } from './outbox.js';

/**
 * Runs delivery passes until `done()` holds. On PostgreSQL the relay only reads below the oldest
 * open transaction of the whole cluster, so a pass may legitimately deliver nothing for a moment.
 */
async function deliverUntil(events: EventOutbox, done: () => boolean): Promise<void> {
  await eventually(async () => {
    await events.deliverPending();
    return done();
  }, 10_000);
}

/** Delivery passes until one delivers nothing (twice in a row), for asserting absence. */
async function deliverAll(events: EventOutbox): Promise<void> {
  let idle = 0;
  while (idle < 2) idle = (await events.deliverPending()) === 0 ? idle + 1 : 0;
}

describeEachDialect('event outbox', (dialect) => {
  let t: TestLoam;
  let clock: ManualClock;
  let n = 0;
  /** A fresh event type per test, so subscribers of one test never see another's events. */
  const type = () => `test.t${++n}`;

  beforeAll(async () => {
    clock = new ManualClock();
    t = await createTestLoam({ dialect, clock, http: false });
  });
  afterAll(() => t.close());

  const emit = (ty: string, subject: string, data: unknown) =>
    t.loam.platform.transaction((tx) => t.loam.platform.events.emit(tx, ty, subject, data, { tenantId: 'default' }));

  it('writes a CloudEvents 1.0 envelope', async () => {
    const ty = type();
    const got: CloudEvent[] = [];
    t.loam.platform.events.subscribe(`envelope-${ty}`, (e) => void got.push(e), { types: [ty] });
    const emitted = await t.loam.platform.transaction((tx) =>
      t.loam.platform.events.emit(tx, ty, 'ds_1', { a: 1 }, { tenantId: 'default', correlationId: 'corr1', traceparent: '00-abc-def-01' }),
    );
    await deliverUntil(t.loam.platform.events, () => got.length === 1);
    expect(got[0]).toEqual({
      specversion: '1.0',
      id: emitted.id,
      type: `io.loam.${ty}`,
      source: '/ds_1',
      subject: 'ds_1',
      time: new Date(clock.now()).toISOString(),
      datacontenttype: 'application/json',
      data: { a: 1 },
      tenantid: 'default',
      correlationid: 'corr1',
      traceparent: '00-abc-def-01',
    });
    expect(got[0].id).toMatch(/^evt_/);
  });

  it('an emit inside a transaction that rolls back delivers nothing', async () => {
    const ty = type();
    const got: CloudEvent[] = [];
    t.loam.platform.events.subscribe(`rollback-${ty}`, (e) => void got.push(e), { types: [ty] });
    await expect(
      t.loam.platform.transaction(async (tx) => {
        await t.loam.platform.events.emit(tx, ty, 's', { lost: true }, { tenantId: 'default' });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await emit(ty, 's', { kept: true });
    await deliverUntil(t.loam.platform.events, () => got.length >= 1);
    await deliverAll(t.loam.platform.events);
    expect(got.map((e) => e.data)).toEqual([{ kept: true }]);
  });

  it('delivers in order per subject, across many transactions and batches', async () => {
    const ty = type();
    const got: CloudEvent[] = [];
    t.loam.platform.events.subscribe(`order-${ty}`, (e) => void got.push(e), { types: [ty] });
    const subjects = ['a', 'b', 'c'];
    const emitted: { subject: string; i: number }[] = [];
    // 250 events (more than one relay batch), subjects interleaved, some transactions with several.
    for (let i = 0; i < 250; ) {
      const batch = 1 + (i % 3);
      await t.loam.platform.transaction(async (tx) => {
        for (let j = 0; j < batch && i < 250; j++, i++) {
          const subject = subjects[(i * 7) % 3];
          await t.loam.platform.events.emit(tx, ty, subject, { i }, { tenantId: 'default' });
          emitted.push({ subject, i });
        }
      });
    }
    await deliverUntil(t.loam.platform.events, () => got.length === 250);
    expect(got.map((e) => (e.data as { i: number }).i)).toEqual(emitted.map((e) => e.i));
    for (const s of subjects) {
      const mine = got.filter((e) => e.subject === s).map((e) => (e.data as { i: number }).i);
      expect(mine).toEqual(emitted.filter((e) => e.subject === s).map((e) => e.i));
    }
  });

  it('at least once: a failing subscriber is retried, and later events wait for the failed one', async () => {
    const ty = type();
    const seen: number[] = [];
    let failuresLeft = 2;
    t.loam.platform.events.subscribe(
      `retry-${ty}`,
      (e) => {
        const i = (e.data as { i: number }).i;
        seen.push(i);
        if (i === 2 && failuresLeft > 0) {
          failuresLeft--;
          throw new Error('subscriber down');
        }
      },
      { types: [ty] },
    );
    for (let i = 1; i <= 4; i++) await emit(ty, 'x', { i });
    await deliverUntil(t.loam.platform.events, () => seen.length >= 2);
    expect(seen).toEqual([1, 2]);
    // Backing off: no delivery until the retry time has come.
    await deliverAll(t.loam.platform.events);
    expect(seen).toEqual([1, 2]);
    const cursor = await t.loam.platform.database.db
      .selectFrom('outbox_cursors')
      .selectAll()
      .where('subscriber', '=', `retry-${ty}`)
      .executeTakeFirstOrThrow();
    expect(Number(cursor.failures)).toBe(1);
    expect(cursor.last_error).toBe('subscriber down');
    clock.advance(60_000);
    await deliverUntil(t.loam.platform.events, () => seen.length >= 3);
    expect(seen).toEqual([1, 2, 2]);
    clock.advance(60_000);
    await deliverUntil(t.loam.platform.events, () => seen.length >= 6);
    expect(seen).toEqual([1, 2, 2, 2, 3, 4]);
  });

  it('a failing subscriber does not hold back the others', async () => {
    const ty = type();
    const healthy: number[] = [];
    t.loam.platform.events.subscribe(
      `broken-${ty}`,
      () => {
        throw new Error('always fails');
      },
      { types: [ty] },
    );
    t.loam.platform.events.subscribe(`healthy-${ty}`, (e) => void healthy.push((e.data as { i: number }).i), { types: [ty] });
    for (let i = 1; i <= 3; i++) await emit(ty, 'y', { i });
    await deliverUntil(t.loam.platform.events, () => healthy.length === 3);
    expect(healthy).toEqual([1, 2, 3]);
  });

  it('`types` filters what a subscriber receives', async () => {
    const wanted = type();
    const other = type();
    const got: string[] = [];
    t.loam.platform.events.subscribe(`filter-${wanted}`, (e) => void got.push(`${e.type}:${(e.data as { i: number }).i}`), {
      types: [wanted, `io.loam.${type()}`],
    });
    await emit(wanted, 's', { i: 1 });
    await emit(other, 's', { i: 2 });
    await emit(wanted, 's', { i: 3 });
    await deliverUntil(t.loam.platform.events, () => got.length === 2);
    await deliverAll(t.loam.platform.events);
    expect(got).toEqual([`io.loam.${wanted}:1`, `io.loam.${wanted}:3`]);
  });

  it("`from: 'now'` skips events committed before the subscriber first ran", async () => {
    const ty = type();
    await emit(ty, 's', { i: 1 });
    const got: number[] = [];
    t.loam.platform.events.subscribe(`now-${ty}`, (e) => void got.push((e.data as { i: number }).i), { types: [ty], from: 'now' });
    await deliverAll(t.loam.platform.events);
    await emit(ty, 's', { i: 2 });
    await deliverUntil(t.loam.platform.events, () => got.length >= 1);
    await deliverAll(t.loam.platform.events);
    expect(got).toEqual([2]);
  });

  it('a pass that finds nothing new writes nothing; the stored cursor counts (resetting it replays)', async () => {
    const ty = type();
    const got: number[] = [];
    const name = `idle-${ty}`;
    t.loam.platform.events.subscribe(name, (e) => void got.push((e.data as { i: number }).i), { types: [ty] });
    await emit(ty, 's', { i: 1 });
    await deliverUntil(t.loam.platform.events, () => got.length === 1);
    await deliverAll(t.loam.platform.events);
    const cursor = () =>
      t.loam.platform.database.db.selectFrom('outbox_cursors').selectAll().where('subscriber', '=', name).executeTakeFirstOrThrow();
    const before = await cursor();
    clock.advance(1000);
    await deliverAll(t.loam.platform.events);
    expect(await cursor()).toEqual(before);
    // The relay holds the lease, yet a cursor moved back in the table is followed.
    await t.loam.platform.database.db.updateTable('outbox_cursors').set({ txid: 0, seq: 0 }).where('subscriber', '=', name).execute();
    await deliverUntil(t.loam.platform.events, () => got.length === 2);
    expect(got).toEqual([1, 1]);
  });

  it('the running relay delivers right after the emitting transaction commits', async () => {
    const ty = type();
    const got: number[] = [];
    const relay = await createTestLoam({ dialect, http: false, config: { relayPollMs: 600_000 } });
    try {
      relay.loam.platform.events.subscribe(`live-${ty}`, (e) => void got.push((e.data as { i: number }).i));
      relay.loam.platform.events.start();
      await new Promise((r) => setTimeout(r, 50)); // let the first (empty) pass finish
      await relay.loam.platform.transaction((tx) => relay.loam.platform.events.emit(tx, ty, 's', { i: 7 }, { tenantId: 'default' }));
      // (On PostgreSQL another session's open transaction may hold the event back for a moment;
      // the relay then looks again within 50 ms rather than at the next poll.)
      await eventually(() => got.includes(7), 5000);
    } finally {
      await relay.close();
    }
  });

  it('reports the lag of the slowest subscriber', async () => {
    const ty = type();
    const lagLoam = await createTestLoam({ dialect, http: false });
    try {
      const events = lagLoam.loam.platform.events;
      events.subscribe(`lag-${ty}`, () => {}, { types: [ty] });
      await deliverAll(events);
      const before = await events.lag();
      for (let i = 0; i < 3; i++) await lagLoam.loam.platform.transaction((tx) => events.emit(tx, ty, 's', { i }, { tenantId: 'default' }));
      expect(await events.lag()).toBe(before + 3);
      await deliverUntil(events, () => true);
      await eventually(async () => {
        await events.deliverPending();
        return (await events.lag()) === 0;
      });
    } finally {
      await lagLoam.close();
    }
  });

  it('a crash between commit and delivery loses nothing: a restarted Loam delivers every event in order', async () => {
    const ty = type();
    const crashClock = new ManualClock();
    const first = await createTestLoam({ dialect, clock: crashClock, http: false });
    const firstSeen: number[] = [];
    first.loam.platform.events.subscribe('restart-sub', (e) => void firstSeen.push((e.data as { i: number }).i), { types: [ty] });
    const emitFirst = (i: number) =>
      first.loam.platform.transaction((tx) => first.loam.platform.events.emit(tx, ty, `s${i % 2}`, { i }, { tenantId: 'default' }));
    await emitFirst(1);
    await emitFirst(2);
    await deliverUntil(first.loam.platform.events, () => firstSeen.length === 2);
    for (let i = 3; i <= 12; i++) await emitFirst(i);
    // Crash: the process dies with events committed but not delivered, and without releasing
    // its relay lease (only the database handle goes away).
    await first.loam.platform.close();

    crashClock.advance(31_000); // past the dead relay's lease
    const second = await createTestLoam({
      dialect,
      clock: crashClock,
      http: false,
      dataDir: first.dataDir,
      databaseUrl: first.databaseUrl,
    });
    try {
      const secondSeen: CloudEvent[] = [];
      second.loam.platform.events.subscribe('restart-sub', (e) => void secondSeen.push(e), { types: [ty] });
      await deliverUntil(second.loam.platform.events, () => secondSeen.length >= 10);
      await deliverAll(second.loam.platform.events);
      expect(firstSeen).toEqual([1, 2]);
      expect(secondSeen.map((e) => (e.data as { i: number }).i)).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      expect(secondSeen.map((e) => e.subject)).toEqual(['s1', 's0', 's1', 's0', 's1', 's0', 's1', 's0', 's1', 's0']);
    } finally {
      await second.close();
      await first.close().catch(() => {});
    }
  });

  it('a pass slower than its lease keeps the lease: a second relay neither redelivers the batch nor stalls the stream', async () => {
    const ty = type();
    const { database, ids, log } = t.loam.platform;
    // Two relays on one database, as two processes would be, with a 300 ms lease; the subscriber
    // takes 1.2 s per pass, four leases' worth.
    const relays = ['relay_slow_a', 'relay_slow_b'].map(
      (owner) => new EventOutbox(database, systemClock, ids, log, { pollMs: 50, leaseMs: 300, owner }),
    );
    const seen: { by: string; i: number }[] = [];
    for (const [k, relay] of relays.entries()) {
      const batch = async (events: CloudEvent[]) => {
        await new Promise((r) => setTimeout(r, 1200));
        for (const e of events) seen.push({ by: `relay ${k}`, i: (e.data as { i: number }).i });
      };
      relay.subscribe('slow-sub', { batch }, { types: [ty] });
    }
    for (let i = 1; i <= 3; i++) await emit(ty, 's', { i });
    // The second relay tries 700 ms into the first one's pass, past the lease it took at the start.
    await eventually(async () => {
      const first = relays[0].deliverPending();
      await new Promise((r) => setTimeout(r, 700));
      await relays[1].deliverPending();
      await first;
      return seen.length > 0;
    }, 20_000);
    await deliverAll(relays[1]);
    await deliverAll(relays[0]);
    expect(seen.map((s) => s.i)).toEqual([1, 2, 3]);
    expect(new Set(seen.map((s) => s.by)).size).toBe(1);
    // And the stream moves on: the next event is delivered once.
    await emit(ty, 's', { i: 4 });
    await deliverUntil(relays[0], () => seen.length >= 4);
    await deliverAll(relays[1]);
    expect(seen.map((s) => s.i)).toEqual([1, 2, 3, 4]);
  });

  it('a relay that stopped cleanly hands over at once (its lease is released)', async () => {
    const ty = type();
    const first = await createTestLoam({ dialect, http: false });
    const seen: number[] = [];
    first.loam.platform.events.subscribe('handover-sub', (e) => void seen.push((e.data as { i: number }).i), { types: [ty] });
    const emitFirst = (i: number) =>
      first.loam.platform.transaction((tx) => first.loam.platform.events.emit(tx, ty, 's', { i }, { tenantId: 'default' }));
    await emitFirst(1);
    await deliverUntil(first.loam.platform.events, () => seen.length === 1);
    await emitFirst(2);
    await first.stop();
    const second = await createTestLoam({ dialect, http: false, dataDir: first.dataDir, databaseUrl: first.databaseUrl });
    try {
      second.loam.platform.events.subscribe('handover-sub', (e) => void seen.push((e.data as { i: number }).i), { types: [ty] });
      await deliverUntil(second.loam.platform.events, () => seen.length === 2);
      expect(seen).toEqual([1, 2]);
    } finally {
      await second.close();
      await first.close();
    }
  });
});

describe.runIf(POSTGRES_URL)('event outbox [postgres]: concurrent transactions', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect: 'postgres', http: false });
  });
  afterAll(() => t?.close());

  it('delivers an event whose transaction commits after a later one', async () => {
    const { events, database } = t.loam.platform;
    const got: string[] = [];
    events.subscribe('late-commit', (e) => void got.push(e.subject), { types: ['test.late'] });
    let releaseA!: () => void;
    const gateA = new Promise<void>((r) => {
      releaseA = r;
    });
    let emittedA!: () => void;
    const aEmitted = new Promise<void>((r) => {
      emittedA = r;
    });
    // Transaction A emits first (so its sequence number is lower) but stays open.
    const txA = database.db.transaction().execute(async (tx) => {
      await events.emit(tx, 'test.late', 'A', {}, { tenantId: 'default' });
      emittedA();
      await gateA;
    });
    await aEmitted;
    // Transaction B emits and commits while A is still open.
    await t.loam.platform.transaction((tx) => events.emit(tx, 'test.late', 'B', {}, { tenantId: 'default' }));
    try {
      // The relay runs now: it must not move its cursor past A's (uncommitted) event.
      for (let i = 0; i < 3; i++) await events.deliverPending();
      expect(got).toEqual([]);
    } finally {
      releaseA();
      await txA;
    }
    await deliverUntil(events, () => got.length === 2);
    expect(got).toEqual(['A', 'B']);
  });
});

if (!POSTGRES_URL)
  describe.skip('event outbox [postgres]: concurrent transactions — skipped: no PostgreSQL (set LOAM_TEST_POSTGRES_URL)', () => {});
