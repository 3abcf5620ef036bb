import type { CreatePolicy, Policy, UpdatePolicy } from '@loam/api';
import type { Executor, Tx } from '../../platform/db/index.js';
import { rfc3339 } from '../../platform/http/context.js';
import { AppError, conflict, notFound } from '../../platform/http/errors.js';
import { type PageRequest, pageById } from '../../platform/http/pagination.js';
import type { Platform } from '../../platform/index.js';
import type { Principal } from '../../platform/principal.js';
import { CEDAR_SCHEMA, cedar, cedarMessage } from './cedar.js';

/** Who changes a policy, recorded in the change event (and so in the audit log). */
export interface PolicyActor {
  principal?: Principal;
  ip?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: a raw policies row
function toPolicy(row: any): Policy {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    effect: row.effect,
    policy: row.policy,
    version: Number(row.version),
    tenant_id: row.tenant_id,
    created_by: row.created_by ?? null,
    created_at: rfc3339(Number(row.created_at)),
    updated_at: rfc3339(Number(row.updated_at)),
  };
}

const invalidPolicy = (message: string) =>
  new AppError('validation_error', 400, `Invalid Cedar policy: ${message}`, [{ field: 'policy', code: 'invalid_policy', message }]);

/**
 * Checks that `text` is one Cedar `permit` or `forbid` statement (no templates) that validates
 * against Loam's schema in strict mode; returns its effect, or throws 400 with Cedar's message.
 */
export function validatePolicyText(id: string, text: string): 'permit' | 'forbid' {
  const parts = cedar.policySetTextToParts(text);
  if (parts.type === 'failure') throw invalidPolicy(cedarMessage(parts.errors, text));
  if (parts.policy_templates.length > 0) throw invalidPolicy('templates (policies with ?principal or ?resource slots) are not supported');
  if (parts.policies.length !== 1) throw invalidPolicy(`expected exactly one permit or forbid statement, found ${parts.policies.length}`);
  const answer = cedar.validate({
    schema: CEDAR_SCHEMA,
    policies: { staticPolicies: { [id]: text } },
    validationSettings: { mode: 'strict' },
  });
  if (answer.type === 'failure') throw invalidPolicy(cedarMessage(answer.errors, text));
  if (answer.validationErrors.length > 0)
    throw invalidPolicy(
      cedarMessage(
        answer.validationErrors.map((e) => e.error),
        text,
      ),
    );
  const json = cedar.policyToJson(text);
  if (json.type === 'failure') throw invalidPolicy(cedarMessage(json.errors, text));
  return json.json.effect;
}

/**
 * Tenant policies (Cedar), each validated on write. Every change bumps the tenant's policy-set
 * version in the same transaction, which is what every instance's authorizer compares its
 * compiled copy against.
 */
export class PolicyService {
  private readonly changeListeners: ((tenantId: string) => void)[] = [];

  constructor(private readonly platform: Platform) {}

  /** Called after a change to `tenantId`'s policies commits (the local authorizer reloads at once). */
  onChange(listener: (tenantId: string) => void): void {
    this.changeListeners.push(listener);
  }

  private async change<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.platform.transaction(async (tx) => {
      const value = await fn(tx);
      await this.bumpVersion(tx, tenantId);
      return value;
    });
    for (const listener of this.changeListeners) listener(tenantId);
    return result;
  }

  private async bumpVersion(tx: Executor, tenantId: string): Promise<void> {
    const now = this.platform.clock.now();
    await tx
      .insertInto('policy_sets')
      .values({ tenant_id: tenantId, version: 1, updated_at: now })
      .onConflict((oc) =>
        oc.column('tenant_id').doUpdateSet((eb) => ({ version: eb(eb.ref('policy_sets.version'), '+', 1), updated_at: now })),
      )
      .execute();
  }

  /** The tenant's policy-set version (0 when its policies never changed). */
  async version(tenantId: string): Promise<number> {
    const row = await this.platform.database.db
      .selectFrom('policy_sets')
      .select('version')
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst();
    return row ? Number(row.version) : 0;
  }

  /** Every policy of the tenant as `{id: text}`, the input of Cedar's policy set. */
  async policyTexts(tenantId: string): Promise<Record<string, string>> {
    const rows = await this.platform.database.db
      .selectFrom('policies')
      .select(['id', 'policy'])
      .where('tenant_id', '=', tenantId)
      .orderBy('id')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.id, r.policy]));
  }

  private eventData(policy: Policy, actor: PolicyActor) {
    return {
      id: policy.id,
      name: policy.name,
      effect: policy.effect,
      version: policy.version,
      // The text itself, so the audit log shows what a change said, not only that it happened.
      policy: policy.policy,
      actor: actor.principal?.subject ?? null,
      actor_kind: actor.principal?.kind ?? null,
      ip: actor.ip ?? null,
      resource_type: 'policy',
      resource_id: policy.id,
    };
  }

  async create(tenantId: string, input: CreatePolicy, actor: PolicyActor = {}): Promise<Policy> {
    const id = this.platform.ids.new('pol');
    const effect = validatePolicyText(id, input.policy);
    const max = this.platform.config.policiesMaxPerTenant;
    const now = this.platform.clock.now();
    return this.change(tenantId, async (tx) => {
      const { n } = await tx
        .selectFrom('policies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId)
        .executeTakeFirstOrThrow();
      if (Number(n) >= max) throw new AppError('quota_exceeded', 403, `A tenant may have at most ${max} policies`);
      await this.assertNameFree(tx, tenantId, input.name);
      const row = await tx
        .insertInto('policies')
        .values({
          id,
          tenant_id: tenantId,
          name: input.name,
          description: input.description ?? '',
          effect,
          policy: input.policy,
          version: 1,
          created_by: actor.principal?.subject ?? null,
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const policy = toPolicy(row);
      await this.platform.events.emit(tx, 'policy.created', id, this.eventData(policy, actor), { tenantId });
      return policy;
    });
  }

  private async assertNameFree(tx: Executor, tenantId: string, name: string, exceptId?: string): Promise<void> {
    let q = tx.selectFrom('policies').select('id').where('tenant_id', '=', tenantId).where('name', '=', name);
    if (exceptId) q = q.where('id', '!=', exceptId);
    if (await q.executeTakeFirst()) throw conflict(`A policy named '${name}' already exists`);
  }

  async list(tenantId: string, page: PageRequest) {
    const db = this.platform.database.db;
    const { items, pagination } = await pageById(
      db.selectFrom('policies').selectAll().where('tenant_id', '=', tenantId),
      page,
      this.platform.signer,
      `policies:${tenantId}`,
      db
        .selectFrom('policies')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', tenantId),
    );
    return { items: items.map(toPolicy), pagination };
  }

  async get(tenantId: string, id: string, db: Executor = this.platform.database.db): Promise<Policy> {
    const row = await db.selectFrom('policies').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Policy');
    return toPolicy(row);
  }

  /**
   * Applies the keys present in `input` (PATCH; PUT passes every key). `ifVersion` is the
   * version the caller last saw (If-Match): a mismatch is 412.
   */
  async update(tenantId: string, id: string, input: UpdatePolicy, actor: PolicyActor = {}, ifVersion?: number): Promise<Policy> {
    const effect = input.policy !== undefined ? validatePolicyText(id, input.policy) : undefined;
    return this.change(tenantId, async (tx) => {
      const current = await this.get(tenantId, id, tx);
      if (ifVersion !== undefined && ifVersion !== current.version) throw preconditionFailed();
      if (input.name !== undefined && input.name !== current.name) await this.assertNameFree(tx, tenantId, input.name, id);
      const row = await tx
        .updateTable('policies')
        .set({
          ...(input.name !== undefined ? { name: input.name } : {}),
          ...(input.description !== undefined ? { description: input.description } : {}),
          ...(input.policy !== undefined ? { policy: input.policy, effect } : {}),
          version: current.version + 1,
          updated_at: this.platform.clock.now(),
        })
        .where('tenant_id', '=', tenantId)
        .where('id', '=', id)
        .where('version', '=', current.version)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw preconditionFailed(); // a concurrent update won
      const policy = toPolicy(row);
      await this.platform.events.emit(tx, 'policy.updated', id, this.eventData(policy, actor), { tenantId });
      return policy;
    });
  }

  async delete(tenantId: string, id: string, actor: PolicyActor = {}, ifVersion?: number): Promise<void> {
    await this.change(tenantId, async (tx) => {
      const current = await this.get(tenantId, id, tx);
      if (ifVersion !== undefined && ifVersion !== current.version) throw preconditionFailed();
      await tx.deleteFrom('policies').where('tenant_id', '=', tenantId).where('id', '=', id).execute();
      await this.platform.events.emit(tx, 'policy.deleted', id, this.eventData(current, actor), { tenantId });
    });
  }
}

export const preconditionFailed = () =>
  new AppError('precondition_failed', 412, 'The policy changed since you read it (If-Match does not match its ETag)');
