import { withTimeout } from '../index.js';
import type { LoamModule, Platform } from '../module.js';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { connect } from '@nats-io/transport-node';
import type { CloudEvent } from './outbox.js';

type NatsConnection = Awaited<ReturnType<typeof connect>>;

/**
 * Publishes committed CloudEvents to NATS JetStream, so other services (and other Loam
 * instances) can consume them durably. Subject: `<prefix>.<tenant>.<type>`. The event id is the
 * JetStream message id, so the relay's at-least-once redeliveries are deduplicated by the server.
 */
export class NatsEventPublisher {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    readonly subjectPrefix: string,
  ) {}

  static async connect(url: string, opts: { stream?: string; subjectPrefix?: string } = {}): Promise<NatsEventPublisher> {
    const stream = opts.stream ?? 'LOAM_EVENTS';
    const subjectPrefix = opts.subjectPrefix ?? 'loam.events';
    // The NATS client is loaded only when LOAM_NATS_URL is set, not by every start.
    const [{ jetstream, jetstreamManager }, { connect }] = await Promise.all([
      import('@nats-io/jetstream'),
      import('@nats-io/transport-node'),
    ]);
    const u = new URL(url);
    const nc = await connect({
      servers: `${u.hostname}:${u.port || 4222}`,
      ...(u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : {}),
      name: 'loam',
    });
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
    } catch {
      await jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`] });
    }
    return new NatsEventPublisher(nc, jetstream(nc), subjectPrefix);
  }

  subjectOf(event: CloudEvent): string {
    return `${this.subjectPrefix}.${event.tenantid}.${event.type}`;
  }

  async publish(event: CloudEvent): Promise<void> {
    await this.js.publish(this.subjectOf(event), JSON.stringify(event), { msgID: event.id });
  }

  /** Resolves when the NATS server answers a round trip. */
  async ping(): Promise<void> {
    if (this.nc.isClosed()) throw new Error('connection closed');
    await this.nc.flush();
  }

  async close(): Promise<void> {
    await this.nc.drain();
  }
}

/** With LOAM_NATS_URL, every committed event is also published to NATS JetStream. */
export function createNatsPublishingModule(platform: Platform): LoamModule<undefined> {
  let nats: NatsEventPublisher | undefined;
  return {
    name: 'nats',
    service: undefined,
    async start() {
      if (!platform.config.natsUrl) return;
      const publisher = await NatsEventPublisher.connect(platform.config.natsUrl);
      nats = publisher;
      platform.dependencies.push({
        name: 'nats',
        required: false,
        whileDown: 'events wait in the outbox and are published when NATS is back',
        check: () => withTimeout(publisher.ping(), 2000),
      });
      platform.events.subscribe('nats-publisher', (event) => publisher.publish(event));
    },
    async stop() {
      await nats?.close();
    },
  };
}
