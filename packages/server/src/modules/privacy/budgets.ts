import type { AggregateQuery, PrivacyBudget } from '@loam/api';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError } from '../../platform/http/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { type AggregateResult, privateAggregate } from './dp.js';
import type { Row } from './tabular.js';

// biome-ignore lint/suspicious/noExplicitAny: a raw privacy_budgets row
function toBudget(row: any): PrivacyBudget {
  const total = Number(row.epsilon_total);
  const spent = Number(row.epsilon_spent);
  return {
    subject: row.subject,
    epsilon_total: total,
    epsilon_spent: Math.round(spent * 1e9) / 1e9,
    epsilon_remaining: Math.max(0, Math.round((total - spent) * 1e9) / 1e9),
    updated_at: rfc3339(Number(row.updated_at)),
  };
}

/** Differential privacy: ε budgets per subject, spent by private aggregates. */
export class BudgetService {
  constructor(private readonly platform: Platform) {}

  private async ensureBudget(tx: Executor, tenantId: string, subject: string): Promise<void> {
    const now = this.platform.clock.now();
    await tx
      .insertInto('privacy_budgets')
      .values({
        tenant_id: tenantId,
        subject,
        epsilon_total: this.platform.config.privacyDefaultEpsilon,
        epsilon_spent: 0,
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(['tenant_id', 'subject']).doNothing())
      .execute();
  }

  async getBudget(tenantId: string, subject: string, db: Executor = this.platform.database.db): Promise<PrivacyBudget> {
    const row = await db
      .selectFrom('privacy_budgets')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where('subject', '=', subject)
      .executeTakeFirst();
    if (row) return toBudget(row);
    const now = this.platform.clock.now();
    return toBudget({ subject, epsilon_total: this.platform.config.privacyDefaultEpsilon, epsilon_spent: 0, updated_at: now });
  }

  async setBudget(tenantId: string, subject: string, epsilonTotal: number): Promise<PrivacyBudget> {
    return this.platform.transaction(async (tx) => {
      await this.ensureBudget(tx, tenantId, subject);
      const row = await tx
        .updateTable('privacy_budgets')
        .set({ epsilon_total: epsilonTotal, updated_at: this.platform.clock.now() })
        .where('tenant_id', '=', tenantId)
        .where('subject', '=', subject)
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.platform.events.emit(tx, 'anonymization.budget_set', subject, { subject, epsilon_total: epsilonTotal }, { tenantId });
      return toBudget(row);
    });
  }

  /**
   * Charges ε to `subject`'s budget and answers the query, or refuses (409 privacy_budget_exhausted)
   * without answering when the budget cannot cover it. The charge is a conditional update, so
   * concurrent queries cannot overspend.
   */
  async aggregate(
    tenantId: string,
    subject: string,
    records: Row[],
    query: AggregateQuery,
  ): Promise<AggregateResult & { budget: PrivacyBudget }> {
    // Computed first so an invalid query (400) costs nothing; released only if the charge succeeds.
    const answer = privateAggregate(records, query, this.platform.random);
    const budget = await this.platform.transaction(async (tx) => {
      await this.ensureBudget(tx, tenantId, subject);
      const row = await tx
        .updateTable('privacy_budgets')
        .set((eb) => ({ epsilon_spent: eb('epsilon_spent', '+', query.epsilon), updated_at: this.platform.clock.now() }))
        .where('tenant_id', '=', tenantId)
        .where('subject', '=', subject)
        .where((eb) => eb(eb('epsilon_spent', '+', query.epsilon), '<=', eb('epsilon_total', '+', 1e-9)))
        .returningAll()
        .executeTakeFirst();
      if (!row) {
        const current = await this.getBudget(tenantId, subject, tx);
        throw new AppError(
          'privacy_budget_exhausted',
          409,
          `The privacy budget of '${subject}' has ε ${current.epsilon_remaining} left; this query needs ${query.epsilon}`,
          undefined,
          undefined,
          { epsilon_remaining: current.epsilon_remaining },
        );
      }
      await this.platform.events.emit(
        tx,
        'anonymization.budget_charged',
        subject,
        { subject, epsilon: query.epsilon, query: query.type },
        { tenantId },
      );
      return toBudget(row);
    });
    return { ...answer, budget };
  }
}
