import type { LoamModule } from '../../app.js';
import type { Platform } from '../../platform/index.js';
import { auditMigrations } from './migrations.js';
import { auditRoutes } from './routes.js';
import { AuditService } from './service.js';

/** The append-only audit log, fed by a durable event subscriber registered on start. */
export function createAuditModule(platform: Platform): { audit: AuditService; module: LoamModule } {
  const audit = new AuditService(platform);
  return {
    audit,
    module: {
      name: 'audit',
      migrations: auditMigrations,
      routes: (app) => auditRoutes(app, audit),
      start: () => audit.subscribe(),
    },
  };
}
