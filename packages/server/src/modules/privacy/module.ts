import { DataKeyRing, createKeyWrapper, keyRingMigrations } from '../../platform/crypto/envelope.js';
import { TenantRootKeys } from '../../platform/crypto/tenant-keys.js';
import type { LoamModule, Platform } from '../../platform/module.js';
import type { DatasetService } from '../datasets/services/datasets.js';
import { DatasetPrivacy, datasetPrivacyRoutes } from './datasets.js';
import { privacyMigrations } from './migrations.js';
import { DatasetRecordProtection } from './records.js';
import { privacyRoutes } from './routes.js';
import { PrivacyService } from './service.js';

/**
 * The key ring (envelope encryption for any module: datasets encrypt PII fields with it) and the
 * privacy engine on top of it. The key ring's table is its own migration set (`keys`). Given the
 * datasets service, it also serves `/api/v1/datasets/{id}/anonymize` and `/aggregate`;
 * `protection` is what the datasets module calls on its write and read paths (encryption at rest
 * of PII fields, anonymize-on-insert policies).
 */
/** What the privacy module offers other modules. */
export interface Privacy {
  privacy: PrivacyService;
  /** Envelope encryption: data keys per tenant scope, wrapped by the master key. */
  keys: DataKeyRing;
  /** Encryption at rest of PII fields and anonymize-on-insert policies, for the datasets module. */
  protection: DatasetRecordProtection;
}

export function createPrivacyModule(
  platform: Platform,
  /** The datasets service, looked up when routes are built (it is created after this module). */
  deps: { datasets: () => DatasetService | undefined },
): LoamModule<Privacy> {
  const wrapper = createKeyWrapper(platform.config, platform.random);
  const roots = new TenantRootKeys(platform.blob, wrapper, platform.random, platform.database);
  const keys = new DataKeyRing(platform.database, wrapper, platform.clock, platform.ids, platform.random, roots);
  const privacy = new PrivacyService(platform, keys);
  let onDatasets: DatasetPrivacy | undefined;
  const datasetPrivacy = () => {
    const datasets = deps.datasets();
    if (!onDatasets && datasets) onDatasets = new DatasetPrivacy(platform, privacy, datasets);
    return onDatasets;
  };
  return {
    name: 'privacy',
    service: { privacy, keys, protection: new DatasetRecordProtection(platform, privacy) },
    // The key ring's table is a migration set of its own (`keys`), applied first.
    migrations: [keyRingMigrations, privacyMigrations],
    routes(app) {
      privacyRoutes(app, privacy);
      const withDatasets = datasetPrivacy();
      if (withDatasets) datasetPrivacyRoutes(app, platform, withDatasets);
    },
    start() {
      datasetPrivacy()?.register();
    },
  };
}
