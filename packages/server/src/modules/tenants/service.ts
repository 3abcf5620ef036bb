import type { Executor, Platform } from '../../platform/index.js';
import { type Tenant, TenantStore } from './store.js';

export type { Tenant } from './store.js';

export const DEFAULT_TENANT = 'default';

/** Tenants: every tenant-owned row names one. Tiers drive /api/v1 rate limits. */
export class TenantService {
  private readonly tierCache = new Map<string, { tier: string; until: number }>();

  private readonly store = new TenantStore();

  constructor(private readonly platform: Platform) {}

  // No caller-facing methods (tenants have no routes yet): bootstrap, identity and the rate
  // limiter ask by tenant id, so none takes a RequestContext.
  get(id: string, db: Executor = this.platform.database.db): Promise<Tenant | undefined> {
    return this.store.get(db, id);
  }

  /** Whether the tenant exists (cached like tiers: 30 s; a known tenant is not looked up again). */
  async exists(id: string): Promise<boolean> {
    if (this.tierCache.has(id)) return true;
    const tenant = await this.get(id);
    if (tenant) this.tierCache.set(id, { tier: tenant.tier, until: this.platform.clock.now() + 30_000 });
    return tenant !== undefined;
  }

  /** Creates the tenant if missing; returns whether it was created. */
  ensure(tx: Executor, id: string, name: string, tier = 'enterprise'): Promise<boolean> {
    return this.store.insertIfMissing(tx, { id, name, tier, createdAt: this.platform.clock.now() });
  }

  /** The tenant's tier, cached for 30 s (rate limiting asks on every request). */
  async tierOf(id: string): Promise<string> {
    const now = this.platform.clock.now();
    const hit = this.tierCache.get(id);
    if (hit && hit.until > now) return hit.tier;
    const tier = (await this.get(id))?.tier ?? 'free';
    this.tierCache.set(id, { tier, until: now + 30_000 });
    return tier;
  }
}
