import type { LoamModule, Platform } from '../../platform/module.js';
import { eventsMigrations } from './migrations.js';
import { eventRoutes } from './routes.js';
import { EventService } from './service.js';
import { webhookRoutes } from './webhook-routes.js';
import { WebhookService } from './webhooks.js';

const PURGE_EVERY_MS = 3_600_000;

export interface EventsModuleService {
  events: EventService;
  webhooks: WebhookService;
}

/** The outbox subscriber that turns committed events into webhook deliveries. */
export const WEBHOOK_SUBSCRIBER = 'webhooks';

/**
 * Events as a product: the catalogue (`@loam/api`), the tenant's event log over HTTP (list, get,
 * Server-Sent Events stream with resume), retention per class purged by the `events.purge` job,
 * and signed webhooks delivered from the outbox through the job queue.
 */
export function createEventsModule(platform: Platform): LoamModule<EventsModuleService> {
  const events = new EventService(platform);
  const webhooks = new WebhookService(platform, events.store);
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'events',
    service: { events, webhooks },
    migrations: [eventsMigrations],
    routes(app) {
      eventRoutes(app, events, {
        heartbeatMs: platform.config.eventsHeartbeatMs,
        maxBufferedBytes: platform.config.eventsMaxBufferedBytes,
      });
      webhookRoutes(app, webhooks);
    },
    start() {
      platform.jobs.register('events.purge', async () => ({ removed: await events.purge() }), { maxAttempts: 3 });
      // Deliveries are sent by their own loop, where the job workers run (see dispatcher.ts); a
      // dead process's leased deliveries are due again at once.
      platform.jobs.attach(webhooks.dispatcher);
      platform.liveness.expireLeasesWith((tx, from, to) => webhooks.store.expireLeases(tx, from, to));
      platform.events.subscribe(WEBHOOK_SUBSCRIBER, { batch: webhooks.fanOut }, { from: 'now' });
      events.start();
      // One purge at a time across every process (the job key), enqueued by each of them.
      timer = setInterval(() => {
        platform
          .transaction((tx) => platform.jobs.enqueue(tx, 'events.purge', {}, { key: 'events.purge' }))
          .catch((err) => platform.log.warn({ err }, 'could not enqueue the event purge'));
      }, PURGE_EVERY_MS);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      events.stop();
    },
  };
}
