import type { ClientCredential } from '@loam/api';
import type { Selectable, Updateable } from 'kysely';
import { type Executor, fromJson, toBool, toJson } from '../../../platform/db/index.js';
import { rfc3339 } from '../../../platform/http/context.js';
import type { ClientCredentialsTable } from '../tables.js';

/** A client credential: what the API shows, plus what only the server sees. */
export interface StoredCredential {
  view: ClientCredential;
  secretHash: string;
  tokenEpoch: number;
}

function toCredential(row: Selectable<ClientCredentialsTable>): StoredCredential {
  return {
    view: {
      id: row.id,
      client_id: row.client_id,
      issued_to: row.issued_to,
      scopes: fromJson<string[]>(row.scopes),
      description: row.description,
      active: toBool(row.active),
      created_at: rfc3339(row.created_at),
      updated_at: rfc3339(row.updated_at),
      tenant_id: row.tenant_id,
    },
    secretHash: row.secret_hash,
    tokenEpoch: row.token_epoch,
  };
}

export interface NewCredential {
  id: string;
  tenantId: string;
  clientId: string;
  secretHash: string;
  issuedTo: string;
  scopes: string[];
  description: string;
  now: number;
}

export interface CredentialChanges {
  active?: boolean;
  scopes?: string[];
  description?: string;
  tokenEpoch?: number;
  updatedAt: number;
}

export interface CredentialFilter {
  /** Undefined: every tenant (a platform admin's list). */
  tenantId: string | undefined;
  issuedTo?: string;
  active?: boolean;
}

/** `client_credentials`. A platform admin reaches every tenant's: `tenantId` undefined means any. */
export class CredentialStore {
  async insert(db: Executor, c: NewCredential): Promise<StoredCredential> {
    const row = await db
      .insertInto('client_credentials')
      .values({
        id: c.id,
        tenant_id: c.tenantId,
        client_id: c.clientId,
        secret_hash: c.secretHash,
        issued_to: c.issuedTo,
        scopes: toJson(c.scopes),
        description: c.description,
        active: 1,
        token_epoch: c.now,
        created_at: c.now,
        updated_at: c.now,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCredential(row);
  }

  async list(db: Executor, filter: CredentialFilter): Promise<StoredCredential[]> {
    let q = db.selectFrom('client_credentials').selectAll().orderBy('id');
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    if (filter.issuedTo !== undefined) q = q.where('issued_to', '=', filter.issuedTo);
    if (filter.active !== undefined) q = q.where('active', '=', filter.active ? 1 : 0);
    return (await q.execute()).map(toCredential);
  }

  async find(db: Executor, tenantId: string | undefined, id: string): Promise<StoredCredential | undefined> {
    let q = db.selectFrom('client_credentials').selectAll().where('id', '=', id);
    if (tenantId !== undefined) q = q.where('tenant_id', '=', tenantId);
    const row = await q.executeTakeFirst();
    return row ? toCredential(row) : undefined;
  }

  /** The credential a client authenticates as (client ids are unique across tenants). */
  async byClientId(db: Executor, clientId: string): Promise<StoredCredential | undefined> {
    const row = await db.selectFrom('client_credentials').selectAll().where('client_id', '=', clientId).executeTakeFirst();
    return row ? toCredential(row) : undefined;
  }

  async update(db: Executor, tenantId: string, id: string, c: CredentialChanges): Promise<StoredCredential> {
    const changes: Updateable<ClientCredentialsTable> = {
      ...(c.tokenEpoch !== undefined ? { token_epoch: c.tokenEpoch } : {}),
      ...(c.active !== undefined ? { active: c.active ? 1 : 0 } : {}),
      ...(c.scopes !== undefined ? { scopes: toJson(c.scopes) } : {}),
      ...(c.description !== undefined ? { description: c.description } : {}),
      updated_at: c.updatedAt,
    };
    const row = await db
      .updateTable('client_credentials')
      .set(changes)
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toCredential(row);
  }

  async delete(db: Executor, tenantId: string, id: string): Promise<void> {
    await db.deleteFrom('client_credentials').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
  }
}
