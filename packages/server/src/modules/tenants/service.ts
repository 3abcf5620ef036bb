import type { CreateTenant, ListQuery, TenantErasure, UpdateTenant } from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { AppError, conflict, forbidden, notFound } from '../../platform/errors.js';
import { pageById } from '../../platform/http/pagination.js';
import type { Executor, Platform } from '../../platform/index.js';
import type { QuotaResource, QuotaUse } from '../../platform/module.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { type Tenant, TenantStore } from './store.js';
import { TenantUsage } from './usage.js';

export type { Tenant } from './store.js';

export const DEFAULT_TENANT = 'default';

/** PostgreSQL NOTIFY channel: a tenant changed (payload `<op>:<id>`); every process drops what it cached. */
const CHANNEL = 'loam_tenants';
const CACHE_MS = 30_000;
/** Blocked tenants are re-read this often too, should a notification have been missed while reconnecting. */
const REFRESH_MS = 60_000;

/** `professional` is the contract's name of the tier the tenants API calls `standard`. */
const tierName = (tier: string | undefined) => (tier === 'professional' ? 'standard' : tier);

/**
 * Tenants: every tenant-owned row names one; tiers drive /api/v1 rate limits, quotas limit what a
 * tenant may store, a suspended tenant's requests are refused. Platform admins manage them.
 */
export class TenantService {
  private readonly cache = new Map<string, { tenant: Tenant | undefined; until: number }>();
  /** Tenants whose requests are refused (suspended, being erased); loaded at start, kept by notifications. */
  private blockedIds = new Set<string>();
  /** Tenants erased while this process ran (their cached credentials may still verify). */
  private readonly gone = new Set<string>();
  private readonly store = new TenantStore();
  readonly usage: TenantUsage;
  private stopListening: (() => Promise<void>) | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  /** Called when another process (or this one) erased a tenant: drop its cached keys. */
  onErased: ((tenantId: string) => void) | undefined;

  constructor(private readonly platform: Platform) {
    this.usage = new TenantUsage(platform, this.store);
  }

  async start(): Promise<void> {
    await this.refreshBlocked();
    this.stopListening = await this.platform.database.dialect.listen(
      CHANNEL,
      (payload) => this.onNotification(payload),
      (err) => this.platform.log.warn({ err: { message: err.message } }, 'tenant notification connection failed; reconnecting'),
    );
    this.refreshTimer = setInterval(() => {
      this.refreshBlocked().catch((err) => this.platform.log.warn({ err: { message: (err as Error).message } }, 'tenant refresh failed'));
    }, REFRESH_MS);
    this.refreshTimer.unref();
    this.usage.start();
  }

  async stop(): Promise<void> {
    clearInterval(this.refreshTimer);
    await this.usage.stop();
    await this.stopListening?.();
  }

  private async refreshBlocked(): Promise<void> {
    this.blockedIds = new Set(await this.store.blocked(this.platform.database.db));
  }

  private onNotification(payload: string): void {
    const sep = payload.indexOf(':');
    const op = payload.slice(0, sep);
    const id = payload.slice(sep + 1);
    this.cache.delete(id);
    if (op === 'erased') this.markGone(id);
    if (op === 'created') this.gone.delete(id);
    this.refreshBlocked().catch(() => {});
  }

  private markGone(id: string): void {
    this.gone.add(id);
    this.blockedIds.delete(id);
    this.onErased?.(id);
  }

  /** Tells every process (and this one) that tenant `id` changed, when `tx` commits. */
  private notify(tx: Executor, op: string, id: string): Promise<void> {
    return this.platform.database.dialect.notify(tx, CHANNEL, `${op}:${id}`);
  }

  /** What this process knows about a tenant's access, from memory. */
  blocked(id: string): 'suspended' | 'gone' | undefined {
    if (this.blockedIds.has(id)) return 'suspended';
    return this.gone.has(id) ? 'gone' : undefined;
  }

  get(id: string, db: Executor = this.platform.database.db): Promise<Tenant | undefined> {
    return this.store.get(db, id);
  }

  /** The tenant, cached for 30 s (asked on every request by rate limits and named-tenant checks). */
  private async cached(id: string, db?: Executor): Promise<Tenant | undefined> {
    const now = this.platform.clock.now();
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.tenant;
    // In the caller's transaction when it has one: SQLite's one connection is held by it.
    const tenant = await this.get(id, db);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(id, { tenant, until: now + CACHE_MS });
    return tenant;
  }

  /** Whether the tenant exists. */
  async exists(id: string): Promise<boolean> {
    return (await this.cached(id)) !== undefined;
  }

  /** Creates the tenant if missing; returns whether it was created (bootstrap and tests). */
  async ensure(tx: Executor, id: string, name: string, tier = 'enterprise'): Promise<boolean> {
    const created = await this.store.insertIfMissing(tx, { id, name, tier, createdAt: this.platform.clock.now() });
    if (created) this.cache.delete(id);
    return created;
  }

  /** The tenant's tier (cached 30 s). */
  async tierOf(id: string): Promise<string> {
    return (await this.cached(id))?.tier ?? 'free';
  }

  /** Throws 403 `quota_exceeded` when adding `amount` of `resource` would pass the tenant's quota. */
  async checkQuota(tenantId: string, resource: QuotaResource, amount: number, db?: Executor): Promise<QuotaUse | undefined> {
    const limit = (await this.cached(tenantId, db))?.quotas[resource];
    if (limit === undefined || limit === null) return undefined;
    // In a transaction, concurrent checks of one tenant's resource wait for each other (PostgreSQL;
    // SQLite has one writer): otherwise two inserts could each see room for their records and both
    // commit past the quota. The lock is held until the transaction that stores them ends.
    if (db?.isTransaction) await this.platform.database.dialect.advisoryTransactionLock(db, `quota:${tenantId}:${resource}`);
    const current = await this.usage.count(tenantId, resource, db);
    if (current + amount > limit)
      throw new AppError(
        'quota_exceeded',
        403,
        `The tenant's ${resource} quota (${limit}) would be exceeded: ${current} in use, ${amount} more requested`,
        undefined,
        undefined,
        { quota: resource, limit, current, requested: amount },
      );
    return { limit, current };
  }

  // ---- the operator API (platform admins only) -------------------------------------------------

  /**
   * Platform admins only: others get 403 on the collection and 404 on a tenant (whose existence
   * is not revealed). Tenants are above any one tenant, so no tenant's Cedar policies decide
   * (as for platform admins on policies); every change is audited through its `tenant.*` event.
   */
  private authorize(ctx: RequestContext, id: string | undefined): void {
    if (!ctx.principal.roles.includes(PLATFORM_ADMIN))
      throw id === undefined ? forbidden('Only platform admins manage tenants') : notFound('Tenant');
  }

  async create(ctx: RequestContext, input: CreateTenant): Promise<Tenant> {
    this.authorize(ctx, undefined);
    const now = this.platform.clock.now();
    const tenant: Tenant = {
      id: input.id,
      name: input.name,
      tier: tierName(input.tier) ?? 'free',
      status: 'active',
      quotas: input.quotas ?? {},
      createdAt: now,
      updatedAt: now,
    };
    await this.platform.transaction(async (tx) => {
      if (!(await this.store.insertIfMissing(tx, tenant))) throw conflict(`Tenant ${input.id} already exists`);
      await this.platform.events.emit(
        tx,
        'tenant.created',
        tenant.id,
        { id: tenant.id, tier: tenant.tier, actor: ctx.principal.subject },
        { tenantId: ctx.principal.tenantId },
      );
      await this.notify(tx, 'created', tenant.id);
    });
    this.cache.delete(tenant.id);
    this.gone.delete(tenant.id);
    return tenant;
  }

  async list(ctx: RequestContext, query: ListQuery) {
    this.authorize(ctx, undefined);
    const db = this.platform.database.db;
    const page = await pageById(
      this.store.list(db),
      query,
      this.platform.signer,
      'tenants',
      db.selectFrom('tenants').select((eb) => eb.fn.countAll<number>().as('n')),
    );
    return { items: page.items.map(this.store.toTenant), pagination: page.pagination };
  }

  async read(ctx: RequestContext, id: string): Promise<Tenant> {
    this.authorize(ctx, id);
    const tenant = await this.get(id);
    if (!tenant) throw notFound('Tenant');
    return tenant;
  }

  async update(ctx: RequestContext, id: string, patch: UpdateTenant): Promise<Tenant> {
    this.authorize(ctx, id);
    if (patch.status === 'suspended' && id === ctx.principal.tenantId) throw conflict('A platform admin cannot suspend its own tenant');
    const now = this.platform.clock.now();
    await this.platform.transaction(async (tx) => {
      const before = await this.store.get(tx, id);
      if (!before) throw notFound('Tenant');
      if (before.status === 'erasing') throw conflict('The tenant is being erased');
      // Quotas merge into the current ones; null lifts one.
      const quotas = patch.quotas
        ? Object.fromEntries(Object.entries({ ...before.quotas, ...patch.quotas }).filter(([, v]) => v !== null && v !== undefined))
        : undefined;
      await this.store.update(tx, id, { ...patch, tier: tierName(patch.tier), quotas }, now);
      const actor = ctx.principal.subject;
      const emit = (type: string, data: Record<string, unknown>) =>
        this.platform.events.emit(tx, type, id, { id, actor, ...data }, { tenantId: ctx.principal.tenantId });
      if (patch.status && patch.status !== before.status)
        await emit(patch.status === 'suspended' ? 'tenant.suspended' : 'tenant.reactivated', {});
      await emit('tenant.updated', { changed: Object.keys(patch) });
      await this.notify(tx, 'updated', id);
    });
    this.cache.delete(id);
    await this.refreshBlocked();
    return (await this.get(id)) as Tenant;
  }

  /** Starts the erasure job (see erasure.ts); the tenant's requests are refused from now on. */
  async erase(ctx: RequestContext, id: string): Promise<TenantErasure> {
    this.authorize(ctx, id);
    if (id === ctx.principal.tenantId) throw conflict('A platform admin cannot erase its own tenant');
    const job = await this.platform.transaction(async (tx) => {
      const tenant = await this.store.get(tx, id);
      if (!tenant) throw notFound('Tenant');
      await this.store.update(tx, id, { status: 'erasing' }, this.platform.clock.now());
      await this.platform.events.emit(
        tx,
        'tenant.erasure_requested',
        id,
        { id, actor: ctx.principal.subject },
        { tenantId: ctx.principal.tenantId },
      );
      await this.notify(tx, 'updated', id);
      return this.platform.jobs.enqueue(
        tx,
        ERASE_JOB,
        { tenantId: id, operatorTenant: ctx.principal.tenantId, actor: ctx.principal.subject },
        { tenantId: ctx.principal.tenantId, key: `tenant-erase:${id}`, maxAttempts: 10 },
      );
    });
    this.cache.delete(id);
    this.blockedIds.add(id);
    return { tenant_id: id, status: 'erasing', job_id: job.id };
  }

  /** Removes the tenant row at the end of an erasure (erasure.ts), in `tx`. */
  async removeErased(tx: Executor, id: string): Promise<void> {
    await this.store.delete(tx, id);
    await this.notify(tx, 'erased', id);
  }

  /** After the erasure committed: this process forgets the tenant at once. */
  erased(id: string): void {
    this.cache.delete(id);
    this.markGone(id);
  }

  async usageOf(ctx: RequestContext, id: string, days: number) {
    const tenant = await this.read(ctx, id);
    return this.usage.report(tenant, days);
  }
}

export const ERASE_JOB = 'tenants.erase';
