import type { LoamModule } from '../../app.js';
import { idempotencyMigrations, purgeExpiredIdempotencyKeys } from '../../platform/http/idempotency.js';
import type { Platform } from '../../platform/index.js';
import { datasetMigrations } from './migrations.js';
import { datasetRoutes } from './routes.js';
import { DatasetService } from './service.js';
import { DatasetTransfers } from './transfers.js';

/**
 * The datasets module: its service (other modules use it, e.g. the privacy engine records its
 * anonymization runs with `datasets.recordLineage`), and the platform's idempotency-key table,
 * which the datasets routes are the first to use.
 */
export function createDatasetsModule(platform: Platform): { datasets: DatasetService; modules: LoamModule[] } {
  const datasets = new DatasetService(platform);
  const transfers = new DatasetTransfers(platform, datasets);
  let purge: NodeJS.Timeout | undefined;
  return {
    datasets,
    modules: [
      {
        name: 'idempotency',
        migrations: idempotencyMigrations,
        start() {
          purge = setInterval(() => {
            purgeExpiredIdempotencyKeys(platform).catch((err) => platform.log.warn({ err }, 'idempotency key purge failed'));
          }, 3_600_000);
          purge.unref();
        },
        stop() {
          clearInterval(purge);
        },
      },
      {
        name: 'datasets',
        migrations: datasetMigrations,
        routes: (app) => datasetRoutes(app, platform, datasets, transfers),
        start() {
          transfers.register();
        },
      },
    ],
  };
}
