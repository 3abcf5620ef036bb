import type { Selectable } from 'kysely';
import type { Executor } from '../../platform/db/index.js';
import type { TenantsTable } from './tables.js';

export interface Tenant {
  id: string;
  name: string;
  tier: string;
  createdAt: number;
}

const toTenant = (row: Selectable<TenantsTable>): Tenant => ({ id: row.id, name: row.name, tier: row.tier, createdAt: row.created_at });

/** The only SQL on `tenants`. */
export class TenantStore {
  async get(db: Executor, id: string): Promise<Tenant | undefined> {
    const row = await db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toTenant(row) : undefined;
  }

  /** Inserts the tenant unless it exists; returns whether it was inserted. */
  async insertIfMissing(db: Executor, tenant: Tenant): Promise<boolean> {
    const row = await db
      .insertInto('tenants')
      .values({ id: tenant.id, name: tenant.name, tier: tenant.tier, created_at: tenant.createdAt })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }
}
