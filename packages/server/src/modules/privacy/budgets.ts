import type { AggregateQuery, PrivacyBudget } from '@loam/api';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import type { Executor, Platform } from '../../platform/index.js';
import { type AggregateResult, privateAggregate } from './dp.js';
import { type PrivacyStore, budgetView } from './store.js';
import type { Row } from './tabular.js';

/** A budget as the access check sees it: `Loam::Resource` with `resource.type == "privacy_budget"`. */
const budgetResource = (ctx: RequestContext, subject: string): ResourceRef => ({
  type: 'privacy_budget',
  id: subject,
  tenantId: ctx.tenantId,
});

/** Differential privacy: ε budgets per subject, spent by private aggregates. */
export class BudgetService {
  constructor(
    private readonly platform: Platform,
    private readonly store: PrivacyStore,
  ) {}

  /** The budget of `subject` (the default total, nothing spent, when it was never used). */
  async getBudget(ctx: RequestContext, subject: string): Promise<PrivacyBudget> {
    await this.platform.access.check(ctx, 'anonymization:use', budgetResource(ctx, subject));
    return this.read(this.platform.database.db, ctx.tenantId, subject);
  }

  private async read(db: Executor, tenantId: string, subject: string): Promise<PrivacyBudget> {
    const stored = await this.store.budget(db, tenantId, subject);
    return stored ?? budgetView(subject, this.platform.config.privacyDefaultEpsilon, 0, this.platform.clock.now());
  }

  /** Sets the total ε of `subject`'s budget (the route needs the `admin` scope). */
  async setBudget(ctx: RequestContext, subject: string, epsilonTotal: number): Promise<PrivacyBudget> {
    const tenantId = ctx.tenantId;
    await this.platform.access.check(ctx, 'admin', budgetResource(ctx, subject));
    return this.platform.transaction(async (tx) => {
      const now = this.platform.clock.now();
      await this.store.ensureBudget(tx, tenantId, subject, this.platform.config.privacyDefaultEpsilon, now);
      const budget = await this.store.setBudgetTotal(tx, tenantId, subject, epsilonTotal, now);
      await this.platform.events.emit(tx, 'anonymization.budget_set', subject, { subject, epsilon_total: epsilonTotal }, { tenantId });
      return budget;
    });
  }

  /**
   * Charges ε to `subject`'s budget and answers the query, or refuses (409 privacy_budget_exhausted)
   * without answering when the budget cannot cover it. The charge is a conditional update, so
   * concurrent queries cannot overspend.
   */
  async aggregate(
    ctx: RequestContext,
    subject: string,
    records: Row[],
    query: AggregateQuery,
  ): Promise<AggregateResult & { budget: PrivacyBudget }> {
    const tenantId = ctx.tenantId;
    await this.platform.access.check(ctx, 'anonymization:use', budgetResource(ctx, subject));
    // Computed first so an invalid query (400) costs nothing; released only if the charge succeeds.
    const answer = privateAggregate(records, query, this.platform.random);
    const budget = await this.platform.transaction(async (tx) => {
      const now = this.platform.clock.now();
      await this.store.ensureBudget(tx, tenantId, subject, this.platform.config.privacyDefaultEpsilon, now);
      const charged = await this.store.chargeBudget(tx, tenantId, subject, query.epsilon, now);
      if (!charged) {
        const current = await this.read(tx, tenantId, subject);
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
      return charged;
    });
    return { ...answer, budget };
  }
}
