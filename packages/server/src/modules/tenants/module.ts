import type { LoamModule, Platform } from '../../platform/module.js';
import { type KeyShredder, registerErasure } from './erasure.js';
import { tenantMigrations } from './migrations.js';
import { tenantRoutes } from './routes.js';
import { TenantService } from './service.js';

/**
 * Tenants: every tenant-owned row names one; tiers drive the /api/v1 rate limits, quotas limit
 * what a tenant stores, suspended tenants are refused, erasure crypto-shreds and deletes. The
 * key ring (`keys`, the privacy module's) is looked up when an erasure runs.
 */
export function createTenantsModule(platform: Platform, deps: { keys: () => KeyShredder | undefined }): LoamModule<TenantService> {
  const tenants = new TenantService(platform);
  platform.tenantExists = (id) => tenants.exists(id);
  platform.tenantBlocked = (id) => tenants.blocked(id);
  platform.checkQuota = (id, resource, amount, db) => tenants.checkQuota(id, resource, amount, db);
  tenants.onErased = (id) => deps.keys()?.forget(id);
  registerErasure(platform, tenants, deps.keys);
  return {
    name: 'tenants',
    service: tenants,
    migrations: [tenantMigrations],
    routes: (app) => tenantRoutes(app, tenants),
    start: () => tenants.start(),
    stop: () => tenants.stop(),
  };
}
