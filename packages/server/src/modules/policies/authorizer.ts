import { LRUCache } from 'lru-cache';
import { Counter } from 'prom-client';
import { type AccessRequest, type Authorizer, type Decision, scopeAuthorizer } from '../../platform/authz.js';
import type { Platform } from '../../platform/index.js';
import { PLATFORM_ADMIN } from '../../platform/principal.js';
import { cedar, cedarMessage, cedarResourceType, toCedarRequest } from './cedar.js';
import type { PolicyService } from './service.js';

/** A tenant's compiled policy set as this instance last loaded it. */
interface LoadedPolicySet {
  version: number;
  count: number;
  /** When the version was last compared with the database (platform clock). */
  checkedAt: number;
}

let instanceCounter = 0;

/**
 * The tenant's own administration: policies, signing keys, client credentials, user accounts and
 * the audit log.
 * Scopes and roles already govern them; on these, Cedar applies its explicit `forbid`s but not
 * its default deny, so that writing a first data policy never locks a tenant out of them.
 */
export const ADMINISTRATIVE_TYPES: ReadonlySet<string> = new Set(['Policy', 'Key', 'Credential', 'Account', 'AuditLog']);

/**
 * Everything the Cedar request is built from (so equal keys mean equal Cedar requests), with the
 * time at the minute as Cedar sees it. Cheaper than building the request itself.
 */
function decisionKey({ principal: p, action, resource: r, context }: AccessRequest, version: number, nowMs: number): string {
  return JSON.stringify([
    r.tenantId,
    version,
    Math.floor(nowMs / 60_000),
    p.kind,
    p.subject,
    p.tenantId,
    p.roles,
    p.scopes,
    p.attributes ?? null,
    action,
    r.type,
    r.id,
    r.attributes ?? null,
    context?.ip ?? null,
  ]);
}

const evaluationFailed = (decision: Decision): boolean => decision.reason?.startsWith('policy evaluation failed') === true;

/**
 * Decides with the built-in scope/tenant check AND, when the resource's tenant has at least one
 * policy, Cedar (default deny; a matching `forbid` always wins over any `permit`):
 *
 *   allowed = scopeCheck(request) && (tenant has no policies || cedar(request) == allow)
 *
 * except on ADMINISTRATIVE_TYPES, where only a matching `forbid` denies, and on policies
 * themselves for a platform admin, whom no tenant policy can keep from repairing them.
 *
 * Each tenant's policy set is compiled once per version (Cedar's pre-parsed policy sets) and
 * decisions are cached per (tenant, policy-set version, Cedar request). A change made through
 * this instance takes effect at once; one made by another instance within `policyRefreshMs`.
 */
export class CedarAuthorizer implements Authorizer {
  private readonly sets = new Map<string, LoadedPolicySet>();
  private readonly loading = new Map<string, Promise<LoadedPolicySet>>();
  /** Bumped by each local change, so a load that raced with it is not kept. */
  private readonly generations = new Map<string, number>();
  private readonly decisions: LRUCache<string, Decision>;
  private readonly instance = `loam${++instanceCounter}_${process.pid}`;
  readonly stats = { cedarCalls: 0, cacheHits: 0 };
  private readonly evaluations: Counter<'result'>;

  constructor(
    private readonly platform: Platform,
    private readonly policies: PolicyService,
  ) {
    this.decisions = new LRUCache({ max: Math.max(1, platform.config.policyCacheSize) });
    policies.onChange((tenantId) => this.invalidate(tenantId));
    this.evaluations =
      (platform.metrics.getSingleMetric('loam_authz_decisions_total') as Counter<'result'> | undefined) ??
      new Counter({
        name: 'loam_authz_decisions_total',
        help: 'Cedar authorization decisions by result (cache hits included)',
        labelNames: ['result'],
        registers: [platform.metrics],
      });
  }

  async authorize(request: AccessRequest): Promise<Decision> {
    const builtIn = await scopeAuthorizer.authorize(request);
    if (!builtIn.allowed) return builtIn;
    if (request.principal.roles.includes(PLATFORM_ADMIN) && cedarResourceType(request.resource.type) === 'Policy') return builtIn;
    const tenantId = request.resource.tenantId;
    const set = await this.policySet(tenantId);
    if (set.count === 0) return builtIn;
    const now = this.platform.clock.now();
    const key = decisionKey(request, set.version, now);
    const cached = this.decisions.get(key);
    if (cached) {
      this.stats.cacheHits++;
      this.evaluations.inc({ result: cached.allowed ? 'allow' : 'deny' });
      return cached;
    }
    let decision = this.evaluate(tenantId, toCedarRequest(request, now));
    // Default deny (no policy decided) does not apply to the tenant's administration.
    if (
      !decision.allowed &&
      decision.policyIds.length === 0 &&
      !evaluationFailed(decision) &&
      ADMINISTRATIVE_TYPES.has(cedarResourceType(request.resource.type))
    )
      decision = builtIn;
    this.evaluations.inc({ result: decision.allowed ? 'allow' : 'deny' });
    // A request Cedar could not evaluate is denied but not cached (it may be a transient state).
    if (!evaluationFailed(decision)) this.decisions.set(key, decision);
    return decision;
  }

  private evaluate(tenantId: string, request: ReturnType<typeof toCedarRequest>): Decision {
    this.stats.cedarCalls++;
    // No schema at evaluation: policies were validated against it on write and `toCedarRequest`
    // builds well-typed entities, while request validation would cost ~4x the evaluation itself.
    const answer = cedar.statefulIsAuthorized({
      ...request,
      preparsedPolicySetId: this.policySetId(tenantId),
      validateRequest: false,
    });
    if (answer.type === 'failure') {
      const message = cedarMessage(answer.errors);
      this.platform.log.warn({ tenantId, message }, 'Cedar could not evaluate a request; denied');
      return { allowed: false, policyIds: [], reason: `policy evaluation failed: ${message}` };
    }
    const { decision, diagnostics } = answer.response;
    if (diagnostics.errors.length > 0)
      this.platform.log.debug({ tenantId, errors: diagnostics.errors }, 'Cedar policies skipped because they raised errors');
    const policyIds = [...diagnostics.reason];
    if (decision === 'allow') return { allowed: true, policyIds };
    return {
      allowed: false,
      policyIds,
      reason: policyIds.length > 0 ? `forbidden by policy ${policyIds.join(', ')}` : 'no policy permits this request',
    };
  }

  private policySetId(tenantId: string): string {
    return `${this.instance}:${tenantId}`;
  }

  /** The tenant's compiled policy set, reloaded when its version moved on. */
  private async policySet(tenantId: string): Promise<LoadedPolicySet> {
    const current = this.sets.get(tenantId);
    const now = this.platform.clock.now();
    if (current && now - current.checkedAt < this.platform.config.policyRefreshMs) return current;
    // One load per tenant at a time; concurrent requests wait for it.
    let pending = this.loading.get(tenantId);
    if (!pending) {
      const loading = this.load(tenantId, current, now).finally(() => {
        if (this.loading.get(tenantId) === loading) this.loading.delete(tenantId);
      });
      pending = loading;
      this.loading.set(tenantId, pending);
    }
    return pending;
  }

  private async load(tenantId: string, current: LoadedPolicySet | undefined, now: number): Promise<LoadedPolicySet> {
    const generation = this.generations.get(tenantId) ?? 0;
    // Version first, then the texts: a change committed in between shows up as a newer version
    // at the next check instead of being cached under the old version.
    const version = await this.policies.version(tenantId);
    if (current && current.version === version) {
      current.checkedAt = now;
      return current;
    }
    const texts = await this.policies.policyTexts(tenantId);
    const count = Object.keys(texts).length;
    const parsed = cedar.preparsePolicySet(this.policySetId(tenantId), { staticPolicies: texts });
    if (parsed.type === 'failure') {
      // Policies are validated on write, so this means a row was changed behind Loam's back.
      this.platform.log.error({ tenantId, message: cedarMessage(parsed.errors) }, 'stored Cedar policies do not parse');
      cedar.preparsePolicySet(this.policySetId(tenantId), { staticPolicies: 'forbid(principal, action, resource);' });
    }
    const loaded = { version, count: parsed.type === 'failure' ? 1 : count, checkedAt: now };
    if ((this.generations.get(tenantId) ?? 0) === generation) this.sets.set(tenantId, loaded);
    return loaded;
  }

  /** Forgets the tenant's compiled set; the next decision reloads it (cached decisions key on the version). */
  invalidate(tenantId: string): void {
    this.generations.set(tenantId, (this.generations.get(tenantId) ?? 0) + 1);
    this.sets.delete(tenantId);
    this.loading.delete(tenantId);
  }

  /** Frees the compiled policy sets held in Cedar's module memory. */
  close(): void {
    for (const tenantId of this.sets.keys()) cedar.preparsePolicySet(this.policySetId(tenantId), { staticPolicies: '' });
    this.sets.clear();
    this.decisions.clear();
  }
}
