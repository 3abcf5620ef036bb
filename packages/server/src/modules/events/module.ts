import type { LoamModule, Platform } from '../../platform/module.js';
import { eventsMigrations } from './migrations.js';
import { eventRoutes } from './routes.js';
import { EventService } from './service.js';

const PURGE_EVERY_MS = 3_600_000;

export interface EventsModuleService {
  events: EventService;
}

/**
 * Events as a product: the catalogue (`@loam/api`), the tenant's event log over HTTP (list, get,
 * Server-Sent Events stream with resume), and retention per class purged by the `events.purge` job.
 */
export function createEventsModule(platform: Platform): LoamModule<EventsModuleService> {
  const events = new EventService(platform);
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'events',
    service: { events },
    migrations: [eventsMigrations],
    routes(app) {
      eventRoutes(app, events, {
        heartbeatMs: platform.config.eventsHeartbeatMs,
        maxBufferedBytes: platform.config.eventsMaxBufferedBytes,
      });
    },
    start() {
      platform.jobs.register('events.purge', async () => ({ removed: await events.purge() }), { maxAttempts: 3 });
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
