import type { ApiKey } from '@loam/api';
import type { CompiledQuery, Insertable, Selectable } from 'kysely';
import type { Signer } from '../../platform/crypto/index.js';
import { type Db, type Executor, fromJson } from '../../platform/db/index.js';
import { rfc3339, rfc3339OrNull } from '../../platform/http/context.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { ApiKeysTable } from './tables.js';

/** What authentication reads of a key. */
export interface KeyCredential {
  id: string;
  tenantId: string;
  scopes: string[];
  roles: string[];
  expiresAt: number | null;
  revokedAt: number | null;
}

type KeyRow = Pick<Selectable<ApiKeysTable>, 'id' | 'tenant_id' | 'scopes' | 'roles' | 'expires_at' | 'revoked_at'>;

/** The one stored → wire mapping of `api_keys` (the secret and its hash never leave the store). */
export function toApiKey(row: Selectable<ApiKeysTable>): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    scopes: fromJson<string[]>(row.scopes),
    roles: fromJson<string[]>(row.roles),
    tenant_id: row.tenant_id,
    created_by: row.created_by,
    created_at: rfc3339(row.created_at),
    expires_at: rfc3339OrNull(row.expires_at),
    last_used_at: rfc3339OrNull(row.last_used_at),
    revoked_at: rfc3339OrNull(row.revoked_at),
  };
}

const toCredential = (row: KeyRow): KeyCredential => ({
  id: row.id,
  tenantId: row.tenant_id,
  scopes: fromJson<string[]>(row.scopes),
  roles: fromJson<string[]>(row.roles),
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
});

/** The only SQL on `api_keys`; every query but the by-hash lookup takes the tenant. */
export class ApiKeyStore {
  /** The per-request lookup, built and compiled to SQL once; each request binds its own hash. */
  private readonly byHash: CompiledQuery<KeyRow>;

  constructor(private readonly db: Db) {
    this.byHash = db
      .selectFrom('api_keys')
      .select(['id', 'tenant_id', 'scopes', 'roles', 'expires_at', 'revoked_at'])
      .where('hash', '=', '')
      .compile();
  }

  /** The key whose secret hashes to `hash`, in whatever tenant (the hash is unique). */
  async findByHash(hash: string): Promise<KeyCredential | undefined> {
    const { rows } = await this.db.executeQuery<KeyRow>({ ...this.byHash, parameters: [hash] });
    return rows[0] ? toCredential(rows[0]) : undefined;
  }

  async insert(tx: Executor, row: Insertable<ApiKeysTable>): Promise<Selectable<ApiKeysTable>> {
    return tx.insertInto('api_keys').values(row).returningAll().executeTakeFirstOrThrow();
  }

  async page(tenantId: string, page: PageRequest, signer: Signer) {
    return pageById(
      this.db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId),
      page,
      signer,
      `apikeys:${tenantId}`,
      this.db
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId),
    );
  }

  get(db: Executor, tenantId: string, id: string): Promise<Selectable<ApiKeysTable> | undefined> {
    return db.selectFrom('api_keys').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
  }

  async hasAny(db: Executor, tenantId: string): Promise<boolean> {
    return (await db.selectFrom('api_keys').select('id').where('tenant_id', '=', tenantId).limit(1).executeTakeFirst()) !== undefined;
  }

  /** Marks the key revoked unless it already is; returns whether this call revoked it. */
  async revoke(tx: Executor, tenantId: string, id: string, now: number): Promise<boolean> {
    const row = await tx
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Replaces the secret of a key that is not revoked; undefined when there is none. */
  replaceSecret(
    tx: Executor,
    tenantId: string,
    id: string,
    secret: { hash: string; prefix: string },
  ): Promise<Selectable<ApiKeysTable> | undefined> {
    return tx
      .updateTable('api_keys')
      .set({ hash: secret.hash, prefix: secret.prefix })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  /** Records when the key was last used (authentication writes it off the request path). */
  async touch(tenantId: string, id: string, now: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}
