import type { Executor } from '../../../platform/db/index.js';
import type { VerificationCodesTable } from '../tables.js';

export type CodePurpose = VerificationCodesTable['purpose'];

export interface StoredCode {
  codeHash: string;
  attempts: number;
  expiresAt: number;
}

/** `verification_codes`: one live code per user and purpose (user ids are unique across tenants). */
export class CodeStore {
  /** Replaces any live code of this purpose. */
  async put(db: Executor, userId: string, purpose: CodePurpose, code: { codeHash: string; expiresAt: number; createdAt: number }) {
    const values = { code_hash: code.codeHash, attempts: 0, expires_at: code.expiresAt, created_at: code.createdAt };
    await db
      .insertInto('verification_codes')
      .values({ user_id: userId, purpose, ...values })
      .onConflict((oc) => oc.columns(['user_id', 'purpose']).doUpdateSet(values))
      .execute();
  }

  async find(db: Executor, userId: string, purpose: CodePurpose): Promise<StoredCode | undefined> {
    const row = await db
      .selectFrom('verification_codes')
      .select(['code_hash', 'attempts', 'expires_at'])
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .executeTakeFirst();
    return row ? { codeHash: row.code_hash, attempts: row.attempts, expiresAt: row.expires_at } : undefined;
  }

  async countWrongTry(db: Executor, userId: string, purpose: CodePurpose): Promise<void> {
    await db
      .updateTable('verification_codes')
      .set((eb) => ({ attempts: eb('attempts', '+', 1) }))
      .where('user_id', '=', userId)
      .where('purpose', '=', purpose)
      .execute();
  }

  async delete(db: Executor, userId: string, purpose: CodePurpose): Promise<void> {
    await db.deleteFrom('verification_codes').where('user_id', '=', userId).where('purpose', '=', purpose).execute();
  }
}
