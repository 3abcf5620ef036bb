import type { Pagination } from '@loam/api';
import type { Selectable, Updateable } from 'kysely';
import type { Signer } from '../../../platform/crypto/index.js';
import { type Db, type Executor, fromJson, toJson } from '../../../platform/db/index.js';
import { type PageRequest, pageById } from '../../../platform/http/pagination.js';
import type { UsersTable } from '../tables.js';

/** A user as the identity services know it. */
export interface StoredUser {
  id: string;
  tenantId: string;
  email: string;
  passwordHash: string;
  status: 'unconfirmed' | 'confirmed' | 'disabled';
  attributes: Record<string, string>;
  roles: string[];
  createdAt: number;
  updatedAt: number;
  confirmedAt: number | null;
}

function toUser(row: Selectable<UsersTable>): StoredUser {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    email: row.email,
    passwordHash: row.password_hash,
    status: row.status,
    attributes: fromJson<Record<string, string>>(row.attributes),
    roles: fromJson<string[]>(row.roles),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    confirmedAt: row.confirmed_at,
  };
}

/** What an update may change (absent keys stay). */
export interface UserChanges {
  roles?: string[];
  attributes?: Record<string, string>;
  status?: StoredUser['status'];
  passwordHash?: string;
  confirmedAt?: number;
  updatedAt: number;
}

function changedColumns(c: UserChanges): Updateable<UsersTable> {
  return {
    ...(c.roles ? { roles: toJson(c.roles) } : {}),
    ...(c.attributes ? { attributes: toJson(c.attributes) } : {}),
    ...(c.status ? { status: c.status } : {}),
    ...(c.passwordHash ? { password_hash: c.passwordHash } : {}),
    ...(c.confirmedAt !== undefined ? { confirmed_at: c.confirmedAt } : {}),
    updated_at: c.updatedAt,
  };
}

/**
 * The `users` table. Sign-in names no tenant, so lookups by email (and by id for a session or a
 * platform admin) span tenants; everything else names the tenant.
 */
export class UserStore {
  constructor(
    private readonly db: Db,
    private readonly signer: Signer,
  ) {}

  async byEmail(db: Executor, email: string): Promise<StoredUser | undefined> {
    const row = await db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  /** The user `id` of `tenantId`, or of any tenant when `tenantId` is undefined (a platform admin, a session). */
  async byId(db: Executor, tenantId: string | undefined, id: string): Promise<StoredUser | undefined> {
    let q = db.selectFrom('users').selectAll().where('id', '=', id);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const row = await q.executeTakeFirst();
    return row ? toUser(row) : undefined;
  }

  async insert(db: Executor, user: Pick<StoredUser, 'id' | 'tenantId' | 'email' | 'passwordHash' | 'attributes'>, now: number) {
    await db
      .insertInto('users')
      .values({
        id: user.id,
        tenant_id: user.tenantId,
        email: user.email,
        password_hash: user.passwordHash,
        status: 'unconfirmed',
        attributes: toJson(user.attributes),
        roles: toJson([]),
        created_at: now,
        updated_at: now,
        confirmed_at: null,
      })
      .execute();
  }

  /** Confirms an unconfirmed user (a no-op for any other status). */
  async confirm(db: Executor, tenantId: string, id: string, now: number): Promise<void> {
    await db
      .updateTable('users')
      .set({ status: 'confirmed', confirmed_at: now, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('status', '=', 'unconfirmed')
      .execute();
  }

  async update(db: Executor, tenantId: string, id: string, changes: UserChanges): Promise<StoredUser> {
    const row = await db
      .updateTable('users')
      .set(changedColumns(changes))
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toUser(row);
  }

  async page(tenantId: string, page: PageRequest): Promise<{ items: StoredUser[]; pagination: Pagination }> {
    const { items, pagination } = await pageById(
      this.db.selectFrom('users').selectAll().where('tenant_id', '=', tenantId),
      page,
      this.signer,
      `users:${tenantId}`,
      this.db
        .selectFrom('users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId),
    );
    return { items: items.map(toUser), pagination };
  }
}
