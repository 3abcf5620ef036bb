import type { LoamModule } from '../../app.js';
import { KeyRing, createKeyWrapper, keyRingMigrations } from '../../platform/crypto/envelope.js';
import type { Platform } from '../../platform/index.js';
import { privacyMigrations } from './migrations.js';
import { privacyRoutes } from './routes.js';
import { PrivacyService } from './service.js';

/**
 * The key ring (envelope encryption for any module: datasets encrypt PII fields with it) and the
 * privacy engine on top of it. The key ring's table is its own migration set (`keys`).
 */
export function createPrivacyModule(platform: Platform): { keys: KeyRing; privacy: PrivacyService; modules: LoamModule[] } {
  const wrapper = createKeyWrapper(platform.config, platform.random);
  const keys = new KeyRing(platform.database, wrapper, platform.clock, platform.ids, platform.random);
  const privacy = new PrivacyService(platform, keys);
  return {
    keys,
    privacy,
    modules: [
      { name: 'keys', migrations: keyRingMigrations },
      { name: 'privacy', migrations: privacyMigrations, routes: (app) => privacyRoutes(app, privacy) },
    ],
  };
}
