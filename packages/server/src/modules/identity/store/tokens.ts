import type { Selectable } from 'kysely';
import type { Executor } from '../../../platform/db/index.js';
import type { RefreshTokensTable } from '../tables.js';

export type RefreshTokenRow = Omit<Selectable<RefreshTokensTable>, 'token_hash' | 'created_at'>;

/**
 * `refresh_tokens` and `token_denylist`. Tokens are found by their hash and sessions by their
 * (globally unique) family id, so these queries name no tenant.
 */
export class TokenStore {
  async insertRefreshToken(db: Executor, values: Omit<Selectable<RefreshTokensTable>, 'used_at' | 'revoked_at'>): Promise<void> {
    await db.insertInto('refresh_tokens').values(values).execute();
  }

  findRefreshToken(db: Executor, tokenHash: string): Promise<RefreshTokenRow | undefined> {
    return db
      .selectFrom('refresh_tokens')
      .select(['id', 'family_id', 'user_id', 'tenant_id', 'expires_at', 'used_at', 'revoked_at'])
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  /** Marks a refresh token spent; false when another request spent it first. */
  async spendRefreshToken(db: Executor, id: string, now: number): Promise<boolean> {
    const r = await db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('id', '=', id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async revokeFamily(db: Executor, familyId: string, now: number): Promise<void> {
    await db
      .updateTable('refresh_tokens')
      .set({ revoked_at: now })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /** The user's sessions whose tokens expire after `expiringAfter`. */
  async familiesOf(db: Executor, userId: string, expiringAfter: number): Promise<string[]> {
    const rows = await db
      .selectFrom('refresh_tokens')
      .select('family_id')
      .distinct()
      .where('user_id', '=', userId)
      .where('expires_at', '>', expiringAfter)
      .execute();
    return rows.map((r) => r.family_id);
  }

  async deleteExpiredRefreshTokens(db: Executor, userId: string, now: number): Promise<void> {
    await db.deleteFrom('refresh_tokens').where('user_id', '=', userId).where('expires_at', '<', now).execute();
  }

  /** Denylists `ids` until `expiresAt` (and forgets entries that expired). */
  async deny(db: Executor, ids: readonly string[], expiresAt: number, now: number): Promise<void> {
    await db.deleteFrom('token_denylist').where('expires_at', '<', now).execute();
    await db
      .insertInto('token_denylist')
      .values(ids.map((id) => ({ id, expires_at: expiresAt, created_at: now })))
      .onConflict((oc) =>
        oc.column('id').doUpdateSet((eb) => ({ expires_at: eb.ref('excluded.expires_at'), created_at: eb.ref('excluded.created_at') })),
      )
      .execute();
  }

  /** Live denylist entries added at or after `since`. */
  denied(db: Executor, since: number, now: number): Promise<{ id: string; expires_at: number }[]> {
    return db
      .selectFrom('token_denylist')
      .select(['id', 'expires_at'])
      .where('created_at', '>=', since)
      .where('expires_at', '>', now)
      .execute();
  }
}
