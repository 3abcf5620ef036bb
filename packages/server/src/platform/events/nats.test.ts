import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NATS_URL, type TestLoam, createTestLoam, describeWith } from '../../test/harness.js';
import type { CloudEvent } from './outbox.js';

describeWith(NATS_URL, 'NATS (set LOAM_TEST_NATS_URL)', 'events published to NATS JetStream', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { natsUrl: NATS_URL } });
    t.loam.startBackground({ workers: 0, relay: true });
  });
  afterAll(() => t?.close());

  it('publishes each committed event once, as a CloudEvent, on loam.events.<tenant>.<type>', async () => {
    const u = new URL(NATS_URL);
    const nc = await connect({ servers: `${u.hostname}:${u.port || 4222}` });
    try {
      // Only messages published from now on (the stream outlives test runs).
      const consumer = await jetstream(nc).consumers.get('LOAM_EVENTS', {
        filter_subjects: 'loam.events.default.io.loam.dataset.created',
        deliver_policy: DeliverPolicy.New,
      });
      const subject = `ds_${Date.now()}`;
      const emitted = await t.loam.platform.transaction((tx) =>
        t.loam.platform.events.emit(tx, 'dataset.created', subject, { name: 'orders' }, { tenantId: 'default' }),
      );
      let found: CloudEvent | undefined;
      for (let i = 0; i < 1000 && !found; i++) {
        const msg = await consumer.next({ expires: 5000 });
        if (!msg) break;
        const event = msg.json<CloudEvent>();
        if (event.id === emitted.id) found = event;
      }
      expect(found).toMatchObject({
        specversion: '1.0',
        type: 'io.loam.dataset.created',
        subject,
        tenantid: 'default',
        data: { name: 'orders' },
      });
    } finally {
      await nc.close();
    }
  });
});
