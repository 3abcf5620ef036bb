import type { LoamModule } from '../../app.js';
import { KeyRing, createKeyWrapper, keyRingMigrations } from '../../platform/crypto/envelope.js';
import type { Platform } from '../../platform/index.js';
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
export function createPrivacyModule(
  platform: Platform,
  /** The datasets service, looked up when routes are built (it is created after this module). */
  opts: { datasets?: () => DatasetService | undefined } = {},
): { keys: KeyRing; privacy: PrivacyService; protection: DatasetRecordProtection; modules: LoamModule[] } {
  const wrapper = createKeyWrapper(platform.config, platform.random);
  const keys = new KeyRing(platform.database, wrapper, platform.clock, platform.ids, platform.random);
  const privacy = new PrivacyService(platform, keys);
  let onDatasets: DatasetPrivacy | undefined;
  const datasetPrivacy = () => {
    const datasets = opts.datasets?.();
    if (!onDatasets && datasets) onDatasets = new DatasetPrivacy(platform, privacy, datasets);
    return onDatasets;
  };
  return {
    keys,
    privacy,
    protection: new DatasetRecordProtection(platform, privacy),
    modules: [
      { name: 'keys', migrations: keyRingMigrations },
      {
        name: 'privacy',
        migrations: privacyMigrations,
        routes(app) {
          privacyRoutes(app, privacy);
          const withDatasets = datasetPrivacy();
          if (withDatasets) datasetPrivacyRoutes(app, platform, withDatasets);
        },
        start() {
          datasetPrivacy()?.register();
        },
      },
    ],
  };
}
