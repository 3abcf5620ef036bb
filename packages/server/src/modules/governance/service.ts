import type {
  AnonymizationRequirements,
  AnonymizationRequirementsRequest,
  CatalogEntry,
  CatalogQuery,
  ComplianceReport,
  ComplianceReportQuery,
  EvaluatePolicyRequest,
  PolicyDecision,
} from '@loam/api';
import type { RequestContext } from '../../platform/context.js';
import { notFound } from '../../platform/errors.js';
import type { Platform } from '../../platform/index.js';
import type { Principal } from '../../platform/principal.js';
import { type ComplianceDeps, complianceReport } from './compliance.js';
import { datasetAttributes, searchCatalog } from './catalog.js';
import { anonymizationRequirements } from './requirements.js';
import { GovernanceStore } from './store.js';

const DAY = 86_400_000;

/** What governance needs of other modules (their services, passed by app.ts). */
export interface GovernanceDeps extends ComplianceDeps {
  /** The texts of the tenant's Cedar policies by id (for obligations). */
  policyTexts(tenantId: string): Promise<Record<string, string>>;
}

/** `@obligation("log_access")`, `@anonymize_fields("email,ssn")`, … on a policy. */
const ANNOTATION = /@([A-Za-z_][A-Za-z0-9_]*)\s*\(\s*"((?:[^"\\]|\\.)*)"\s*\)/g;
/** Annotations that are obligations: `@obligation("x")` names one; the others are one each. */
const OBLIGATIONS = new Set(['obligation', 'log_access', 'anonymize_fields', 'mask_fields', 'notify']);

/**
 * Governance (the data-vault's integration layer): compliance reports over what every module
 * keeps, and policy evaluation through the same authorizer every route's access check asks.
 */
export class GovernanceService {
  private readonly store: GovernanceStore;

  constructor(
    private readonly platform: Platform,
    private readonly deps: GovernanceDeps,
  ) {
    this.store = new GovernanceStore(platform.database.db, platform.database.dialect);
  }

  async complianceReport(ctx: RequestContext, q: ComplianceReportQuery): Promise<ComplianceReport> {
    await this.platform.access.check(ctx, 'governance:read', { type: 'ComplianceReport', id: q.dataset_id ?? '*', tenantId: ctx.tenantId });
    if (q.dataset_id && !(await this.store.dataset(ctx.tenantId, q.dataset_id))) throw notFound('Dataset');
    const now = this.platform.clock.now();
    const to = q.end_date ? Date.parse(q.end_date) : now;
    const from = q.start_date ? Date.parse(q.start_date) : to - 30 * DAY;
    return complianceReport(this.store, this.deps, {
      tenantId: ctx.tenantId,
      framework: q.report_type ?? 'GDPR',
      datasetId: q.dataset_id,
      from,
      to,
      now,
    });
  }

  /** The datasets the caller may read whose names, descriptions, tags or field names match. */
  catalog(ctx: RequestContext, q: CatalogQuery): Promise<CatalogEntry[]> {
    return searchCatalog(this.store, this.platform.access, ctx, q);
  }

  /** The PII fields of a dataset (or of records about to be written to it) and the techniques they need. */
  async anonymizationRequirements(ctx: RequestContext, req: AnonymizationRequirementsRequest): Promise<AnonymizationRequirements> {
    const row = await this.store.dataset(ctx.tenantId, req.dataset_id);
    if (!row) throw notFound('Dataset');
    await this.platform.access.check(ctx, 'datasets:read', {
      type: 'Dataset',
      id: row.id,
      tenantId: row.tenant_id,
      attributes: datasetAttributes(row),
    });
    const schema = (await this.store.datasets(ctx.tenantId, row.id))[0]?.schema ?? '{"fields":[]}';
    return anonymizationRequirements(this.store, this.deps, ctx.tenantId, { id: row.id, classification: row.classification, schema }, req);
  }

  /**
   * The decision the access check would make for `subject` (default: the caller) doing `action`
   * on `resource` in the caller's tenant, with the obligations the deciding policies carry.
   * A stored dataset is described as the datasets module describes it to the access check.
   */
  async evaluate(ctx: RequestContext, req: EvaluatePolicyRequest): Promise<PolicyDecision> {
    await this.platform.access.check(ctx, 'policies:read', { type: 'Policy', id: '*', tenantId: ctx.tenantId });
    const principal: Principal = req.subject
      ? {
          tenantId: ctx.tenantId,
          subject: req.subject.id ?? 'evaluated-subject',
          kind: req.subject.kind ?? 'user',
          roles: (req.subject.roles ?? []).filter((r) => r !== 'platform_admin'),
          scopes: req.subject.scopes ?? [],
          attributes: req.subject.attributes,
        }
      : ctx.principal;
    let attributes = req.resource.attributes ?? {};
    if (req.resource.type === 'Dataset') {
      const row = await this.store.dataset(ctx.tenantId, req.resource.id);
      if (row) attributes = { ...attributes, ...datasetAttributes(row) };
    }
    const decision = await this.platform.authorizer.authorize({
      principal,
      action: req.action,
      resource: { type: req.resource.type, id: req.resource.id, tenantId: ctx.tenantId, attributes },
      context: { ip: ctx.ip, ...req.context },
    });
    const texts = decision.policyIds.length > 0 ? await this.deps.policyTexts(ctx.tenantId) : {};
    const obligations: PolicyDecision['obligations'] = [];
    for (const id of decision.policyIds) {
      for (const m of (texts[id] ?? '').matchAll(ANNOTATION)) {
        if (!OBLIGATIONS.has(m[1])) continue;
        obligations.push(m[1] === 'obligation' ? { type: m[2], value: null, policy_id: id } : { type: m[1], value: m[2], policy_id: id });
      }
    }
    return {
      decision: decision.allowed ? 'allow' : 'deny',
      obligations: decision.allowed ? obligations : [],
      policy_ids: decision.policyIds,
      reasons: decision.reason ? [decision.reason] : decision.policyIds.map((id) => `permitted by policy ${id}`),
    };
  }
}
