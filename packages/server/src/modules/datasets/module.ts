import type { LoamModule } from '../../app.js';
import type { Platform } from '../../platform/index.js';
import { datasetMigrations } from './migrations.js';
import { datasetRoutes } from './routes.js';
import { DatasetService } from './service.js';
import { DatasetTransfers } from './transfers.js';

/**
 * The datasets module: its service (other modules use it, e.g. the privacy engine records its
 * anonymization runs with `datasets.recordLineage`).
 */
export function createDatasetsModule(platform: Platform): { datasets: DatasetService; modules: LoamModule[] } {
  const datasets = new DatasetService(platform);
  const transfers = new DatasetTransfers(platform, datasets);
  return {
    datasets,
    modules: [
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
