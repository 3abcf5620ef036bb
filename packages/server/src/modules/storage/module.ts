import { LocalBlobStore } from '../../platform/blob/local.js';
import type { LoamModule, Platform } from '../../platform/module.js';
import { storageMigrations } from './migrations.js';
import { localBlobRoutes, storageAtriumnRoutes } from './routes.js';
import { StorageService } from './service.js';

const STALE_TEMP_MS = 3600_000;

/** Atriumn storage service (§5) and, with the local store, the pre-signed URL endpoints `/blobs/*`. */
export function createStorageModule(platform: Platform): LoamModule<StorageService> {
  const storage = new StorageService(platform);
  return {
    name: 'storage',
    service: storage,
    migrations: [storageMigrations],
    async routes(app) {
      if (platform.blob instanceof LocalBlobStore) await localBlobRoutes(app, storage, platform.blob);
    },
    atriumnRoutes: (app) => storageAtriumnRoutes(app, storage),
    async start() {
      // Temp files older than the longest request (or an hour) belong to no running upload.
      if (platform.blob instanceof LocalBlobStore) {
        const removed = await platform.blob.sweepTemp(Math.max(platform.config.requestTimeoutMs, STALE_TEMP_MS));
        if (removed) platform.log.warn({ removed }, 'removed stale temp files of interrupted uploads');
      }
    },
  };
}
