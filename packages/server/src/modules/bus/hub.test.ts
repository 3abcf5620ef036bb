import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { type BusSink, SubscriptionGap } from './hub.js';
import { DEFAULT_TENANT } from '../tenants/service.js';
import type { BusService } from './service.js';

/** A subscriber that records what it is handed. */
function recorder() {
  const got: number[] = [];
  const failures: Error[] = [];
  const sink: BusSink = {
    messages: (batch) => got.push(...batch.map((m) => m.position)),
    failed: (err) => failures.push(err),
  };
  return { got, failures, sink };
}

const TENANT = DEFAULT_TENANT;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describeEachDialect('bus hub: messages another process committed', (dialect) => {
  let t: TestLoam;
  let bus: BusService;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, http: false });
    bus = t.loam.services.bus;
  });
  afterAll(() => t.close());

  /** Commits `n` messages (as a send does) without telling the hub; returns them. */
  const commit = (sessionId: string, n: number) =>
    t.loam.platform.database.db.transaction().execute((tx) =>
      bus.store.append(
        tx,
        TENANT,
        sessionId,
        range(1, n).map((i) => ({ id: t.loam.platform.ids.new('msg'), type: null, data: `{"i":${i}}` })),
        Date.now(),
      ),
    );
  /** Commits `n` messages as another process would: stored, this process's hub told only the new head. */
  const commitElsewhere = async (sessionId: string, n: number) => (await commit(sessionId, n)).at(-1)?.position ?? 0;

  it('caught-up subscribers get them from one read shared by all, in order, once each, with late and lagging ones too', async () => {
    const subs = range(1, 50).map(() => recorder());
    for (const s of subs) await bus.hub.subscribe(TENANT, 'remote:1', 0, s.sink);
    const reads = vi.spyOn(bus.store, 'after');
    bus.hub.advance(TENANT, 'remote:1', await commitElsewhere('remote:1', 3));
    await eventually(() => subs.every((s) => s.got.length === 3));
    expect(reads).toHaveBeenCalledTimes(1);
    // Two notifications in a row, the second while the first one's read is in flight.
    reads.mockClear();
    const first = await commitElsewhere('remote:1', 2);
    const second = await commitElsewhere('remote:1', 4);
    bus.hub.advance(TENANT, 'remote:1', first);
    bus.hub.advance(TENANT, 'remote:1', second);
    // A subscriber joining meanwhile from the start catches up on its own, then follows.
    const late = recorder();
    await bus.hub.subscribe(TENANT, 'remote:1', 0, late.sink);
    await eventually(() => [...subs, late].every((s) => s.got.length === 9));
    for (const s of [...subs, late]) expect(s.got).toEqual(range(1, 9));
    expect(reads.mock.calls.length).toBeLessThanOrEqual(4); // the shared reads and the late one's, not one per subscriber
    // A local send hands its messages over without any read.
    reads.mockClear();
    const stored = await commit('remote:1', 1);
    bus.hub.advance(TENANT, 'remote:1', 10, stored);
    await eventually(() => [...subs, late].every((s) => s.got.length === 10));
    expect(reads).not.toHaveBeenCalled();
    expect(subs.flatMap((s) => s.failures)).toEqual([]);
    reads.mockRestore();
  });

  it('when what the shared read wants was purged meanwhile, each subscriber ends with the gap', async () => {
    const subs = range(1, 5).map(() => recorder());
    for (const s of subs) await bus.hub.subscribe(TENANT, 'remote:2', 0, s.sink);
    const head = await commitElsewhere('remote:2', 6);
    const session = await bus.store.session(TENANT, 'remote:2');
    await t.loam.platform.database.db.transaction().execute((tx) => bus.store.purge(tx, TENANT, session!, null, 2));
    bus.hub.advance(TENANT, 'remote:2', head);
    await eventually(() => subs.every((s) => s.failures.length === 1));
    for (const s of subs) {
      expect(s.got).toEqual([]);
      expect(s.failures[0]).toBeInstanceOf(SubscriptionGap);
      expect((s.failures[0] as SubscriptionGap).oldestPosition).toBe(5);
    }
  });
});
