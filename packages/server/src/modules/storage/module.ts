import { LocalBlobStore } from '../../platform/blob/local.js';
import type { LoamModule, Platform } from '../../platform/module.js';
import { storageMigrations } from './migrations.js';
import { localBlobRoutes, storageAtriumnRoutes } from './routes.js';
import { StorageService } from './service.js';
import { StorageStore } from './store.js';
import { Gauge } from 'prom-client';

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
      const store = new StorageStore();
      new Gauge({
        name: 'storage_bytes_used',
        help: 'Bytes of stored objects per tenant',
        labelNames: ['tenant'],
        registers: [platform.metrics],
        async collect() {
          const usage = await store.allUsage(platform.database.db).catch(() => undefined);
          if (!usage) return;
          this.reset();
          for (const u of usage) this.set({ tenant: u.tenantId }, u.bytes);
        },
      });
      // Temp files older than the longest request (or an hour) belong to no running upload.
      if (platform.blob instanceof LocalBlobStore) {
        const removed = await platform.blob.sweepTemp(Math.max(platform.config.requestTimeoutMs, STALE_TEMP_MS));
        if (removed) platform.log.warn({ removed }, 'removed stale temp files of interrupted uploads');
      }
    },
  };
}
