import type { CreatePolicy, Policy, UpdatePolicy } from '@loam/api';
import type { Executor, Tx } from '../../platform/db/index.js';
import type { ResourceRef } from '../../platform/access.js';
import type { RequestContext } from '../../platform/context.js';
import { AppError, conflict, notFound } from '../../platform/errors.js';
import type { PageRequest } from '../../platform/http/pagination.js';
import type { Platform } from '../../platform/index.js';
import { CEDAR_SCHEMA, cedar, cedarMessage } from './cedar.js';
import { PolicyStore } from './store.js';

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

/** A policy as the access check sees it; `*` stands for the tenant's policies as a whole (lists, creation). */
const policyResource = (tenantId: string, id: string, policy?: Pick<Policy, 'name' | 'effect' | 'created_by'>): ResourceRef => ({
  type: 'Policy',
  id,
  tenantId,
  attributes: policy ? { name: policy.name, effect: policy.effect, owner: policy.created_by ?? undefined } : {},
});

/**
 * Tenant policies (Cedar), each validated on write. Every change bumps the tenant's policy-set
 * version in the same transaction, which is what every instance's authorizer compares its
 * compiled copy against. Access checks run before the transaction, so a denial's event is kept.
 */
export class PolicyService {
  private readonly changeListeners: ((tenantId: string) => void)[] = [];
  private readonly store: PolicyStore;

  constructor(private readonly platform: Platform) {
    this.store = new PolicyStore(platform.database.db, platform.signer);
  }

  /** Called after a change to `tenantId`'s policies commits (the local authorizer reloads at once). */
  onChange(listener: (tenantId: string) => void): void {
    this.changeListeners.push(listener);
  }

  private async change<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    const result = await this.platform.transaction(async (tx) => {
      const value = await fn(tx);
      await this.store.bumpVersion(tx, tenantId, this.platform.clock.now());
      return value;
    });
    for (const listener of this.changeListeners) listener(tenantId);
    return result;
  }

  /** The tenant's policy-set version (0 when its policies never changed). */
  version(tenantId: string): Promise<number> {
    return this.store.version(tenantId);
  }

  /** Every policy of the tenant as `{id: text}`, the input of Cedar's policy set. */
  policyTexts(tenantId: string): Promise<Record<string, string>> {
    return this.store.texts(tenantId);
  }

  private eventData(policy: Policy, ctx: RequestContext) {
    return {
      id: policy.id,
      name: policy.name,
      effect: policy.effect,
      version: policy.version,
      // The text itself, so the audit log shows what a change said, not only that it happened.
      policy: policy.policy,
      actor: ctx.principal.subject,
      actor_kind: ctx.principal.kind,
      ip: ctx.ip,
      resource_type: 'policy',
      resource_id: policy.id,
    };
  }

  /**
   * The seed's `dataset.access_granted` / `dataset.access_revoked`: Loam grants access to a
   * dataset through Cedar policies, so a policy that names datasets (`Dataset::"ds_…"`) changes
   * the access to each of them.
   */
  private async datasetAccessEvents(tx: Executor, ctx: RequestContext, policy: Policy, type: string): Promise<void> {
    const ids = new Set([...policy.policy.matchAll(/Dataset::"([^"\\]{1,200})"/g)].map((m) => m[1]));
    for (const datasetId of ids)
      await this.platform.events.emit(
        tx,
        type,
        datasetId,
        {
          dataset_id: datasetId,
          policy_id: policy.id,
          policy_name: policy.name,
          actor: ctx.principal.subject,
          actor_kind: ctx.principal.kind,
          ip: ctx.ip,
        },
        { tenantId: ctx.tenantId, source: `/datasets/${datasetId}` },
      );
  }

  async create(ctx: RequestContext, input: CreatePolicy): Promise<Policy> {
    const { tenantId } = ctx;
    const id = this.platform.ids.new('pol');
    const effect = validatePolicyText(id, input.policy);
    await this.platform.access.check(ctx, 'policies:write', policyResource(tenantId, '*'));
    const max = this.platform.config.policiesMaxPerTenant;
    const now = this.platform.clock.now();
    return this.change(tenantId, async (tx) => {
      if ((await this.store.count(tx, tenantId)) >= max)
        throw new AppError('quota_exceeded', 403, `A tenant may have at most ${max} policies`);
      await this.assertNameFree(tx, tenantId, input.name);
      const policy = await this.store.insert(tx, {
        id,
        tenant_id: tenantId,
        name: input.name,
        description: input.description ?? '',
        effect,
        policy: input.policy,
        version: 1,
        created_by: ctx.principal.subject,
        created_at: now,
        updated_at: now,
      });
      await this.platform.events.emit(tx, 'policy.created', id, this.eventData(policy, ctx), { tenantId });
      await this.datasetAccessEvents(tx, ctx, policy, policy.effect === 'permit' ? 'dataset.access_granted' : 'dataset.access_revoked');
      return policy;
    });
  }

  private async assertNameFree(tx: Executor, tenantId: string, name: string, exceptId?: string): Promise<void> {
    if (await this.store.nameTaken(tx, tenantId, name, exceptId)) throw conflict(`A policy named '${name}' already exists`);
  }

  async list(ctx: RequestContext, page: PageRequest) {
    await this.platform.access.check(ctx, 'policies:read', policyResource(ctx.tenantId, '*'));
    return this.store.page(ctx.tenantId, page);
  }

  /** The policy, after the access check for `action` (404 when the tenant has no such policy). */
  private async load(ctx: RequestContext, id: string, action: string, db: Executor = this.platform.database.db): Promise<Policy> {
    const policy = await this.store.find(db, ctx.tenantId, id);
    if (!policy) throw notFound('Policy');
    await this.platform.access.check(ctx, action, policyResource(ctx.tenantId, id, policy));
    return policy;
  }

  get(ctx: RequestContext, id: string): Promise<Policy> {
    return this.load(ctx, id, 'policies:read');
  }

  /**
   * Applies the keys present in `input` (PATCH; PUT passes every key). `ifVersion` is the
   * version the caller last saw (If-Match): a mismatch is 412.
   */
  async update(ctx: RequestContext, id: string, input: UpdatePolicy, ifVersion?: number): Promise<Policy> {
    const { tenantId } = ctx;
    const effect = input.policy !== undefined ? validatePolicyText(id, input.policy) : undefined;
    const current = await this.load(ctx, id, 'policies:write');
    if (ifVersion !== undefined && ifVersion !== current.version) throw preconditionFailed();
    return this.change(tenantId, async (tx) => {
      if (input.name !== undefined && input.name !== current.name) await this.assertNameFree(tx, tenantId, input.name, id);
      const policy = await this.store.update(tx, tenantId, id, current.version, {
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.policy !== undefined ? { policy: input.policy, effect } : {}),
        updated_at: this.platform.clock.now(),
      });
      if (!policy) throw (await this.store.find(tx, tenantId, id)) ? preconditionFailed() : notFound('Policy'); // a concurrent change won
      await this.platform.events.emit(tx, 'policy.updated', id, this.eventData(policy, ctx), { tenantId });
      return policy;
    });
  }

  async delete(ctx: RequestContext, id: string, ifVersion?: number): Promise<void> {
    const { tenantId } = ctx;
    const current = await this.load(ctx, id, 'policies:write');
    if (ifVersion !== undefined && ifVersion !== current.version) throw preconditionFailed();
    await this.change(tenantId, async (tx) => {
      const latest = await this.store.find(tx, tenantId, id);
      if (!latest) throw notFound('Policy');
      if (ifVersion !== undefined && ifVersion !== latest.version) throw preconditionFailed();
      await this.store.delete(tx, tenantId, id);
      await this.platform.events.emit(tx, 'policy.deleted', id, this.eventData(latest, ctx), { tenantId });
      // A permit naming a dataset is gone: that access is revoked (a forbid gone grants nothing by itself).
      if (latest.effect === 'permit') await this.datasetAccessEvents(tx, ctx, latest, 'dataset.access_revoked');
    });
  }
}

export const preconditionFailed = () =>
  new AppError('precondition_failed', 412, 'The policy changed since you read it (If-Match does not match its ETag)');
