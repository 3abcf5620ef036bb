import type { LoamModule } from '../../app.js';
import type { Platform } from '../../platform/index.js';
import { datasetMigrations } from './migrations.js';
import type { RecordProtection } from './protection.js';
import { datasetRoutes } from './routes/index.js';
import { DatasetService } from './services/datasets.js';
import { DatasetTransfers } from './transfers.js';

/**
 * The datasets module: its service (other modules use it, e.g. the privacy engine records its
 * anonymization runs with `datasets.lineage.recordLineage`). `protection` is the privacy engine's
 * encryption at rest of PII fields and anonymize-on-insert policies (see protection.ts).
 */
export function createDatasetsModule(
  platform: Platform,
  opts: { protection?: RecordProtection } = {},
): { datasets: DatasetService; modules: LoamModule[] } {
  const datasets = new DatasetService(platform, opts.protection);
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
        stop: () => datasets.close(),
      },
    ],
  };
}
