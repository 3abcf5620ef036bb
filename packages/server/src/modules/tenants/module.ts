import type { LoamModule, Platform } from '../../platform/module.js';
import { tenantMigrations } from './migrations.js';
import { TenantService } from './service.js';

/** Tenants: every tenant-owned row names one; tiers drive the /api/v1 rate limits. */
export function createTenantsModule(platform: Platform): LoamModule<TenantService> {
  const tenants = new TenantService(platform);
  platform.tenantExists = (id) => tenants.exists(id);
  return { name: 'tenants', service: tenants, migrations: [tenantMigrations] };
}
