import type { PrivacyBudget, Recognizer } from '@loam/api';
import type { Selectable } from 'kysely';
import { type Executor, fromJson, toBool, toJson } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/time.js';
import type { PrivacyBudgetsTable, PrivacyRecognizersTable } from './tables.js';

/** What a recognizer is made of (its id and times aside). */
export type RecognizerContent = Pick<Recognizer, 'name' | 'entity_type' | 'patterns' | 'context' | 'enabled'>;

/** A reversible token's vault entry. */
export interface VaultEntry {
  token: string;
  tenantId: string;
  /** HMAC of the value: finds the token again without storing the value in clear. */
  valueMac: string;
  entityType: string;
  ciphertext: string;
  createdAt: number;
}

function toRecognizer(row: Selectable<PrivacyRecognizersTable>): Recognizer {
  return {
    id: row.id,
    name: row.name,
    entity_type: row.entity_type,
    patterns: fromJson<Recognizer['patterns']>(row.patterns),
    context: fromJson<string[]>(row.context),
    enabled: toBool(row.enabled),
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
  };
}

const recognizerColumns = (c: RecognizerContent) => ({
  name: c.name,
  entity_type: c.entity_type,
  patterns: toJson(c.patterns),
  context: toJson(c.context),
  enabled: c.enabled ? 1 : 0,
});

/** A budget as answered: ε rounded to 1e-9, the remainder never below zero. */
export function budgetView(subject: string, total: number, spent: number, updatedAt: number): PrivacyBudget {
  return {
    subject,
    epsilon_total: total,
    epsilon_spent: Math.round(spent * 1e9) / 1e9,
    epsilon_remaining: Math.max(0, Math.round((total - spent) * 1e9) / 1e9),
    updated_at: rfc3339(updatedAt),
  };
}

const toBudget = (row: Selectable<PrivacyBudgetsTable>): PrivacyBudget =>
  budgetView(row.subject, row.epsilon_total, row.epsilon_spent, row.updated_at);

/** The privacy module's SQL: recognizers, the token vault and ε budgets. Every query names the tenant. */
export class PrivacyStore {
  // ---------------------------------------------------------------- recognizers

  async recognizers(db: Executor, tenantId: string, opts: { enabledOnly?: boolean } = {}): Promise<Recognizer[]> {
    let q = db.selectFrom('privacy_recognizers').selectAll().where('tenant_id', '=', tenantId);
    if (opts.enabledOnly) q = q.where('enabled', '=', 1);
    return (await q.orderBy('id').execute()).map(toRecognizer);
  }

  async recognizer(db: Executor, tenantId: string, id: string): Promise<Recognizer | undefined> {
    const row = await db
      .selectFrom('privacy_recognizers')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? toRecognizer(row) : undefined;
  }

  async countRecognizers(db: Executor, tenantId: string): Promise<number> {
    const row = await db
      .selectFrom('privacy_recognizers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('tenant_id', '=', tenantId)
      .executeTakeFirstOrThrow();
    return row.n;
  }

  async recognizerNamed(db: Executor, tenantId: string, name: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('privacy_recognizers')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('name', '=', name)
      .executeTakeFirst();
    return row?.id;
  }

  async insertRecognizer(tx: Executor, tenantId: string, id: string, c: RecognizerContent, now: number): Promise<Recognizer> {
    const row = await tx
      .insertInto('privacy_recognizers')
      .values({ id, tenant_id: tenantId, ...recognizerColumns(c), created_at: now, updated_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toRecognizer(row);
  }

  async updateRecognizer(tx: Executor, tenantId: string, id: string, c: RecognizerContent, now: number): Promise<Recognizer | undefined> {
    const row = await tx
      .updateTable('privacy_recognizers')
      .set({ ...recognizerColumns(c), updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return row ? toRecognizer(row) : undefined;
  }

  async deleteRecognizer(tx: Executor, tenantId: string, id: string): Promise<boolean> {
    const row = await tx
      .deleteFrom('privacy_recognizers')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  // ---------------------------------------------------------------- token vault

  async tokenFor(db: Executor, tenantId: string, valueMac: string): Promise<string | undefined> {
    const row = await db
      .selectFrom('privacy_token_vault')
      .select('token')
      .where('tenant_id', '=', tenantId)
      .where('value_mac', '=', valueMac)
      .executeTakeFirst();
    return row?.token;
  }

  /** Stores the entry unless the value already has a token (a concurrent insert won). */
  async insertToken(db: Executor, e: VaultEntry): Promise<void> {
    await db
      .insertInto('privacy_token_vault')
      .values({
        token: e.token,
        tenant_id: e.tenantId,
        value_mac: e.valueMac,
        entity_type: e.entityType,
        ciphertext: e.ciphertext,
        created_at: e.createdAt,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'value_mac']).doNothing())
      .execute();
  }

  async vaultEntry(db: Executor, tenantId: string, token: string): Promise<{ ciphertext: string; entityType: string } | undefined> {
    const row = await db
      .selectFrom('privacy_token_vault')
      .select(['ciphertext', 'entity_type'])
      .where('tenant_id', '=', tenantId)
      .where('token', '=', token)
      .executeTakeFirst();
    return row ? { ciphertext: row.ciphertext, entityType: row.entity_type } : undefined;
  }

  // ---------------------------------------------------------------- budgets

  /** Creates `subject`'s budget with `total` unless it exists. */
  async ensureBudget(tx: Executor, tenantId: string, subject: string, total: number, now: number): Promise<void> {
    await tx
      .insertInto('privacy_budgets')
      .values({ tenant_id: tenantId, subject, epsilon_total: total, epsilon_spent: 0, created_at: now, updated_at: now })
      .onConflict((oc) => oc.columns(['tenant_id', 'subject']).doNothing())
      .execute();
  }

  async budget(db: Executor, tenantId: string, subject: string): Promise<PrivacyBudget | undefined> {
    const row = await db
      .selectFrom('privacy_budgets')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subject', '=', subject)
      .executeTakeFirst();
    return row ? toBudget(row) : undefined;
  }

  async setBudgetTotal(tx: Executor, tenantId: string, subject: string, total: number, now: number): Promise<PrivacyBudget> {
    const row = await tx
      .updateTable('privacy_budgets')
      .set({ epsilon_total: total, updated_at: now })
      .where('tenant_id', '=', tenantId)
      .where('subject', '=', subject)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toBudget(row);
  }

  /**
   * Adds `epsilon` to what `subject` spent if the total still covers it (a conditional update, so
   * concurrent charges cannot overspend); undefined when it does not.
   */
  async chargeBudget(tx: Executor, tenantId: string, subject: string, epsilon: number, now: number): Promise<PrivacyBudget | undefined> {
    const row = await tx
      .updateTable('privacy_budgets')
      .set((eb) => ({ epsilon_spent: eb('epsilon_spent', '+', epsilon), updated_at: now }))
      .where('tenant_id', '=', tenantId)
      .where('subject', '=', subject)
      .where((eb) => eb(eb('epsilon_spent', '+', epsilon), '<=', eb('epsilon_total', '+', 1e-9)))
      .returningAll()
      .executeTakeFirst();
    return row ? toBudget(row) : undefined;
  }
}
