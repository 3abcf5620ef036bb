import type { LoamModule } from '../../app.js';
import { LocalBlobStore } from '../../platform/blob/local.js';
import type { Platform } from '../../platform/index.js';
import { storageMigrations } from './migrations.js';
import { localBlobRoutes, storageAtriumnRoutes } from './routes.js';
import type { StorageService } from './service.js';

/** Atriumn storage service (§5) and, with the local store, the pre-signed URL endpoints `/blobs/*`. */
export function storageModule(platform: Platform, storage: StorageService): LoamModule {
  return {
    name: 'storage',
    migrations: storageMigrations,
    async routes(app) {
      if (platform.blob instanceof LocalBlobStore) await localBlobRoutes(app, storage, platform.blob);
    },
    atriumnRoutes: (app) => storageAtriumnRoutes(app, storage),
  };
}
