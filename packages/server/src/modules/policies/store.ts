import type { Pagination, Policy } from '@loam/api';
import type { Insertable, Selectable, Updateable } from 'kysely';
import type { Signer } from '../../platform/crypto/index.js';
import type { Db, Executor } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { PoliciesTable } from './tables.js';

function toPolicy(row: Selectable<PoliciesTable>): Policy {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    effect: row.effect,
    policy: row.policy,
    version: row.version,
    tenant_id: row.tenant_id,
    created_by: row.created_by ?? null,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}

export type NewPolicy = Insertable<PoliciesTable>;
export type PolicyChanges = Pick<Updateable<PoliciesTable>, 'name' | 'description' | 'policy' | 'effect' | 'updated_at'>;

/** The policies' SQL: `policies` and the per-tenant `policy_sets` version. Every query names the tenant. */
export class PolicyStore {
  constructor(
    private readonly db: Db,
    private readonly signer: Signer,
  ) {}

  async count(db: Executor, tenantId: string): Promise<number> {
    const { n } = await db
      .selectFrom('policies')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return n;
  }

  async nameTaken(db: Executor, tenantId: string, name: string, exceptId?: string): Promise<boolean> {
    let q = db.selectFrom('policies').select('id').where('tenant_id', '=', tenantId).where('name', '=', name);
    if (exceptId) q = q.where('id', '!=', exceptId);
    return (await q.executeTakeFirst()) !== undefined;
  }

  async insert(db: Executor, values: NewPolicy): Promise<Policy> {
    return toPolicy(await db.insertInto('policies').values(values).returningAll().executeTakeFirstOrThrow());
  }

  async find(db: Executor, tenantId: string, id: string): Promise<Policy | undefined> {
    const row = await db.selectFrom('policies').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    return row ? toPolicy(row) : undefined;
  }

  async page(tenantId: string, page: PageRequest): Promise<{ items: Policy[]; pagination: Pagination }> {
    const { items, pagination } = await pageById(
      this.db.selectFrom('policies').selectAll().where('tenant_id', '=', tenantId),
      page,
      this.signer,
      `policies:${tenantId}`,
      this.db
        .selectFrom('policies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId),
    );
    return { items: items.map(toPolicy), pagination };
  }

  /** Applies `changes` and bumps the version, unless another update moved it on from `version` first. */
  async update(db: Executor, tenantId: string, id: string, version: number, changes: PolicyChanges): Promise<Policy | undefined> {
    const row = await db
      .updateTable('policies')
      .set({ ...changes, version: version + 1 })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('version', '=', version)
      .returningAll()
      .executeTakeFirst();
    return row ? toPolicy(row) : undefined;
  }

  async delete(db: Executor, tenantId: string, id: string): Promise<void> {
    await db.deleteFrom('policies').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }

  async bumpVersion(db: Executor, tenantId: string, now: number): Promise<void> {
    await db
      .insertInto('policy_sets')
      .values({ tenant_id: tenantId, version: 1, updated_at: now })
      .onConflict((oc) =>
        oc.column('tenant_id').doUpdateSet((eb) => ({ version: eb(eb.ref('policy_sets.version'), '+', 1), updated_at: now })),
      )
      .execute();
  }

  /** The tenant's policy-set version (0 when its policies never changed). */
  async version(tenantId: string): Promise<number> {
    const row = await this.db.selectFrom('policy_sets').select('version').where('tenant_id', '=', tenantId).executeTakeFirst();
    return row?.version ?? 0;
  }

  /** Every policy of the tenant as `{id: text}`. */
  async texts(tenantId: string): Promise<Record<string, string>> {
    const rows = await this.db.selectFrom('policies').select(['id', 'policy']).where('tenant_id', '=', tenantId).orderBy('id').execute();
    return Object.fromEntries(rows.map((r) => [r.id, r.policy]));
  }
}
