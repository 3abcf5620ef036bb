import type { Selectable } from 'kysely';
import { sql } from 'kysely';
import type { TenantQuotas } from '@loam/api';
import { type Executor, fromJson, toJson } from '../../platform/db/index.js';
import type { TenantsTable } from './tables.js';

export interface Tenant {
  id: string;
  name: string;
  tier: string;
  status: 'active' | 'suspended' | 'erasing';
  quotas: TenantQuotas;
  createdAt: number;
  updatedAt: number;
}

const toTenant = (row: Selectable<TenantsTable>): Tenant => ({
  id: row.id,
  name: row.name,
  tier: row.tier,
  status: (row.status ?? 'active') as Tenant['status'],
  quotas: row.quotas ? fromJson<TenantQuotas>(row.quotas) : {},
  createdAt: row.created_at,
  updatedAt: row.updated_at ?? row.created_at,
});

/** The only SQL on `tenants` and `tenant_usage_daily`. */
export class TenantStore {
  async get(db: Executor, id: string): Promise<Tenant | undefined> {
    const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toTenant(row) : undefined;
  }

  list(db: Executor) {
    return db.selectFrom('tenants').selectAll();
  }

  toTenant = toTenant;

  /** Inserts the tenant unless it exists; returns whether it was inserted. */
  async insertIfMissing(db: Executor, tenant: Pick<Tenant, 'id' | 'name' | 'tier' | 'createdAt'> & Partial<Tenant>): Promise<boolean> {
    const row = await db
      .insertInto('tenants')
      .values({
        id: tenant.id,
        name: tenant.name,
        tier: tenant.tier,
        status: tenant.status ?? 'active',
        quotas: toJson(tenant.quotas ?? {}),
        created_at: tenant.createdAt,
        updated_at: tenant.createdAt,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async update(db: Executor, id: string, set: Partial<Pick<Tenant, 'name' | 'tier' | 'status' | 'quotas'>>, now: number): Promise<void> {
    await db
      .updateTable('tenants')
      .set({
        ...(set.name !== undefined ? { name: set.name } : {}),
        ...(set.tier !== undefined ? { tier: set.tier } : {}),
        ...(set.status !== undefined ? { status: set.status } : {}),
        ...(set.quotas !== undefined ? { quotas: toJson(set.quotas) } : {}),
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
  }

  async delete(db: Executor, id: string): Promise<void> {
    await db.deleteFrom('tenants').where('id', '=', id).execute();
  }

  /** Tenants whose requests are refused (suspended or being erased). */
  async blocked(db: Executor): Promise<string[]> {
    const rows = await db.selectFrom('tenants').select('id').where('status', '!=', 'active').execute();
    return rows.map((r) => r.id);
  }

  /** Adds counted requests to the daily rows. */
  async addUsage(db: Executor, rows: { tenantId: string; day: string; requests: number; anonymizations: number }[]): Promise<void> {
    for (const r of rows) {
      await db
        .insertInto('tenant_usage_daily')
        .values({ tenant_id: r.tenantId, day: r.day, requests: r.requests, anonymizations: r.anonymizations })
        .onConflict((oc) =>
          oc.columns(['tenant_id', 'day']).doUpdateSet({
            requests: sql`tenant_usage_daily.requests + ${r.requests}`,
            anonymizations: sql`tenant_usage_daily.anonymizations + ${r.anonymizations}`,
          }),
        )
        .execute();
    }
  }

  async usageDays(db: Executor, tenantId: string, fromDay: string) {
    return db
      .selectFrom('tenant_usage_daily')
      .select(['day', 'requests', 'anonymizations'])
      .where('tenant_id', '=', tenantId)
      .where('day', '>=', fromDay)
      .execute();
  }
}
