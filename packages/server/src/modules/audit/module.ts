import type { LoamModule, Platform } from '../../platform/module.js';
import { auditMigrations } from './migrations.js';
import { auditRoutes } from './routes.js';
import { AuditService } from './service.js';

/** The append-only audit log, fed by a durable event subscriber registered on start. */
export function createAuditModule(platform: Platform): LoamModule<AuditService> {
  const audit = new AuditService(platform);
  return {
    name: 'audit',
    service: audit,
    migrations: [auditMigrations],
    routes: (app) => auditRoutes(app, audit),
    start: () => audit.subscribe(),
  };
}
