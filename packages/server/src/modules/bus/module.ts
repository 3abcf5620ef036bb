import type { LoamModule, Platform } from '../../platform/module.js';
import { busMigrations } from './migrations.js';
import { busRoutes } from './routes.js';
import { BusService } from './service.js';
import { busStreamRoutes } from './stream.js';

/**
 * The session message bus: positioned, persisted messages per session; subscriptions over SSE
 * and WebSocket that start from any position; retention purged by the `bus.purge` job.
 */
export function createBusModule(platform: Platform): LoamModule<BusService> {
  const bus = new BusService(platform);
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'bus',
    service: bus,
    migrations: [busMigrations],
    async routes(app) {
      busRoutes(app, bus);
      await busStreamRoutes(app, bus, {
        heartbeatMs: platform.config.busHeartbeatMs,
        maxBufferedBytes: platform.config.busMaxBufferedBytes,
      });
    },
    async start() {
      platform.jobs.register('bus.purge', async () => ({ removed: await bus.purge() }), { maxAttempts: 3 });
      await bus.start();
      // One purge job at a time across every process (the job key), enqueued by each of them.
      timer = setInterval(() => {
        platform
          .transaction((tx) => platform.jobs.enqueue(tx, 'bus.purge', {}, { key: 'bus.purge' }))
          .catch((err) => platform.log.warn({ err }, 'could not enqueue the bus purge'));
      }, platform.config.busPurgeIntervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await bus.stop();
    },
  };
}
