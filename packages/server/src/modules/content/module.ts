import type { LoamModule, Platform } from '../../platform/module.js';
import type { StorageService } from '../storage/service.js';
import { contentMigrations } from './migrations.js';
import { contentApiRoutes, contentAtriumnRoutes } from './routes.js';
import { ContentService } from './service.js';

/** Atriumn ingest service (§6), the processing pipeline's jobs, and /api/v1/content/*. */
export function createContentModule(platform: Platform, deps: { storage: StorageService }): LoamModule<ContentService> {
  const content = new ContentService(platform, deps.storage);
  let sweeper: NodeJS.Timeout | undefined;
  return {
    name: 'content',
    service: content,
    migrations: [contentMigrations],
    routes: (app) => contentApiRoutes(app, content),
    atriumnRoutes: (app) => contentAtriumnRoutes(app, content, platform.config.storageMaxFileBytes),
    start() {
      content.pipeline.registerJobs();
      // Items whose processing job died for good are failed rather than left in PROCESSING.
      sweeper = setInterval(() => {
        content.pipeline.failAbandoned().catch((err) => platform.log.warn({ err }, 'content sweep failed'));
      }, 60_000);
      sweeper.unref();
    },
    async stop() {
      clearInterval(sweeper);
      await content.pipeline.close();
    },
  };
}
