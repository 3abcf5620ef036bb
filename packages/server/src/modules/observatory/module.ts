import type { LoamModule, Platform } from '../../platform/module.js';
import { observatoryMigrations } from './migrations.js';
import { otlpRoutes } from './otlp.js';
import { observatoryRoutes } from './routes.js';
import { ObservatoryService } from './service.js';

const PURGE_EVERY_MS = 10 * 60_000;

/**
 * The observatory: log records and OpenTelemetry spans of executions, shipped over
 * `POST /api/v1/logs` or OTLP/HTTP (`/v1/logs`, `/v1/traces`), queried, tailed live; retention
 * per tenant purged by the `logs.purge` job.
 */
export function createObservatoryModule(platform: Platform): LoamModule<ObservatoryService> {
  const logs = new ObservatoryService(platform);
  let timer: NodeJS.Timeout | undefined;
  return {
    name: 'observatory',
    service: logs,
    migrations: [observatoryMigrations],
    async routes(app) {
      observatoryRoutes(app, logs, { heartbeatMs: platform.config.busHeartbeatMs, maxBufferedBytes: platform.config.busMaxBufferedBytes });
      await otlpRoutes(app, logs);
    },
    async start() {
      platform.jobs.register('logs.purge', async () => ({ removed: await logs.purge() }), { maxAttempts: 3 });
      await logs.start();
      // Each LLM gateway call, as a record of the execution that made it.
      platform.events.subscribe('observatory-llm-calls', (event) => logs.recordLlmCall(event), { types: ['llm.call.completed'] });
      // One purge job at a time across every process (the job key), enqueued by each of them.
      timer = setInterval(() => {
        platform
          .transaction((tx) => platform.jobs.enqueue(tx, 'logs.purge', {}, { key: 'logs.purge' }))
          .catch((err) => platform.log.warn({ err }, 'could not enqueue the log purge'));
      }, PURGE_EVERY_MS);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await logs.stop();
    },
  };
}
