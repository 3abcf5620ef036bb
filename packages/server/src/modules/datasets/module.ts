import type { LoamModule, Platform } from '../../platform/module.js';
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
export function createDatasetsModule(platform: Platform, deps: { protection?: RecordProtection }): LoamModule<DatasetService> {
  const datasets = new DatasetService(platform, deps.protection);
  const transfers = new DatasetTransfers(platform, datasets);
  return {
    name: 'datasets',
    service: datasets,
    migrations: [datasetMigrations],
    routes: (app) => datasetRoutes(app, platform, datasets, transfers),
    start() {
      transfers.register();
    },
    stop: () => datasets.close(),
  };
}
