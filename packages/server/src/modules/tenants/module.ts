import type { LoamModule, Platform } from '../../platform/module.js';
import { tenantMigrations } from './migrations.js';
import { TenantService } from './service.js';

/** Tenants: every tenant-owned row names one; tiers drive the /api/v1 rate limits. */
export function createTenantsModule(platform: Platform): LoamModule<TenantService> {
  return { name: 'tenants', service: new TenantService(platform), migrations: [tenantMigrations] };
}
