import type { Executor, Platform } from '../../platform/index.js';

export const DEFAULT_TENANT = 'default';

export interface Tenant {
  id: string;
  name: string;
  tier: string;
  createdAt: number;
}

/** Tenants: every tenant-owned row names one. Tiers drive /api/v1 rate limits. */
export class TenantService {
  private readonly tierCache = new Map<string, { tier: string; until: number }>();

  constructor(private readonly platform: Platform) {}

  async get(id: string, db: Executor = this.platform.database.db): Promise<Tenant | undefined> {
    const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { id: row.id, name: row.name, tier: row.tier, createdAt: Number(row.created_at) } : undefined;
  }

  /** Whether the tenant exists (cached like tiers: 30 s; a known tenant is not looked up again). */
  async exists(id: string): Promise<boolean> {
    if (this.tierCache.has(id)) return true;
    const tenant = await this.get(id);
    if (tenant) this.tierCache.set(id, { tier: tenant.tier, until: this.platform.clock.now() + 30_000 });
    return tenant !== undefined;
  }

  /** Creates the tenant if missing; returns whether it was created. */
  async ensure(tx: Executor, id: string, name: string, tier = 'enterprise'): Promise<boolean> {
    const row = await tx
      .insertInto('tenants')
      .values({ id, name, tier, created_at: this.platform.clock.now() })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
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
