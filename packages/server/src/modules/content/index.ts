import type { LoamModule } from '../../app.js';
import type { Platform } from '../../platform/index.js';
import { contentMigrations } from './migrations.js';
import { contentApiRoutes, contentAtriumnRoutes } from './routes.js';
import type { ContentService } from './service.js';

/** Atriumn ingest service (§6), the processing pipeline's jobs, and /api/v1/content/*. */
export function contentModule(platform: Platform, content: ContentService): LoamModule {
  let sweeper: NodeJS.Timeout | undefined;
  return {
    name: 'content',
    migrations: contentMigrations,
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
    },
  };
}
