import type { Executor } from './db/index.js';
import { AppError } from './errors.js';
import type { EventOutbox } from './events/outbox.js';
import { PLATFORM_ADMIN, type Principal, hasScope } from './principal.js';

/** What a principal wants to do to which resource, with request context (time, IP, …). */
export interface AccessRequest {
  principal: Principal;
  /** `service:verb` style action, e.g. `datasets:read`. */
  action: string;
  resource: { type: string; id: string; tenantId: string; attributes?: Record<string, unknown> };
  context?: Record<string, unknown>;
  /** Also record an allowed access as `access.read` (action verb `read`) or `access.write` (any other verb). */
  audit?: boolean;
}

export interface Decision {
  allowed: boolean;
  /** Policies that decided (empty for the built-in scope check). */
  policyIds: string[];
  reason?: string;
}

/** Decides access. The built-in one checks tenant and scopes; the policies module adds Cedar. */
export interface Authorizer {
  authorize(request: AccessRequest): Promise<Decision>;
}

export const scopeAuthorizer: Authorizer = {
  async authorize({ principal, action, resource }) {
    if (resource.tenantId !== principal.tenantId && !principal.roles.includes(PLATFORM_ADMIN))
      return { allowed: false, policyIds: [], reason: 'foreign tenant' };
    return hasScope(principal, action)
      ? { allowed: true, policyIds: [] }
      : { allowed: false, policyIds: [], reason: `missing scope ${action}` };
  },
};

/**
 * Asks the authorizer and throws when denied: 404 for another tenant's resource (its existence
 * is not revealed), 403 otherwise. Every denial is recorded as an `access.denied` event, and an
 * allowed access as `access.read` / `access.write` when the request asks for `audit`.
 */
export async function enforce(authorizer: Authorizer, events: EventOutbox, db: Executor, request: AccessRequest): Promise<Decision> {
  const decision = await authorizer.authorize(request);
  const { principal, action, resource } = request;
  const record = (type: string) =>
    events.emit(
      db,
      type,
      resource.id,
      {
        actor: principal.subject,
        actor_kind: principal.kind,
        action,
        resource_type: resource.type,
        resource_id: resource.id,
        decision: decision.allowed ? 'allow' : 'deny',
        policy_ids: decision.policyIds,
        reason: decision.reason ?? null,
        ip: request.context?.ip ?? null,
      },
      { tenantId: principal.tenantId },
    );
  // The seed's policy-evaluation record: when a tenant's own policies decided an access that is
  // recorded anyway (audited or denied), so an unaudited read still writes nothing.
  if (decision.policyIds.length > 0 && (request.audit || !decision.allowed)) await record('access.policy_evaluated');
  if (decision.allowed) {
    if (request.audit) await record(action.endsWith(':read') ? 'access.read' : 'access.write');
    return decision;
  }
  await record('access.denied');
  if (resource.tenantId !== principal.tenantId) throw new AppError('not_found', 404, `${resource.type} not found`);
  throw new AppError('forbidden', 403, decision.reason ? `Access denied: ${decision.reason}` : 'Access denied');
}
