import type { Selectable } from 'kysely';
import type { Db } from '../../../platform/db/index.js';
import type { SigningKeysTable } from '../tables.js';

export type SigningKeyRow = Selectable<SigningKeysTable>;

/** `signing_keys`: the token signing key pairs, shared by every tenant (tokens name their tenant). */
export class SigningKeyStore {
  constructor(private readonly db: Db) {}

  /** Keys not retired, or retired after `retiredAfter` (they still verify). */
  live(retiredAfter: number): Promise<SigningKeyRow[]> {
    return this.db
      .selectFrom('signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', retiredAfter)]))
      .execute();
  }

  /** Retires every active key and makes `key` the active one, in one transaction. */
  async replaceActive(key: Omit<SigningKeyRow, 'retired_at'>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('signing_keys').set({ retired_at: key.created_at }).where('retired_at', 'is', null).execute();
      await tx
        .insertInto('signing_keys')
        .values({ ...key, retired_at: null })
        .execute();
    });
  }
}
