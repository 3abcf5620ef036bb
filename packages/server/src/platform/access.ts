import { type AccessRequest, type Authorizer, type Decision, enforce } from './authz.js';
import type { RequestContext } from './context.js';
import type { Executor } from './db/index.js';
import type { EventOutbox } from './events/outbox.js';

/** A resource as the access check sees it: its Cedar entity type, id, owner tenant and attributes. */
export interface ResourceRef {
  /** Cedar entity type: `Dataset`, `Record`, `Prompt`, `Content`, `StorageObject`, `Policy`, `Key`, … */
  type: string;
  id: string;
  tenantId: string;
  attributes?: Record<string, unknown>;
}

export interface CheckOptions {
  /** Where the denial (or audited access) event is written: the caller's transaction, if any. */
  db?: Executor;
  /** Also record an allowed access as `access.read` / `access.write`. */
  audit?: boolean;
  /** Extra request context for policies (`context.*` in Cedar). */
  context?: Record<string, unknown>;
}

/**
 * The one object-level access check. Every service asks it before acting on a resource, so that
 * scopes, roles and the tenant's Cedar policies apply alike to every resource type. Denied: 404
 * for another tenant's resource (its existence is not revealed), 403 otherwise, and an
 * `access.denied` event either way.
 */
export class Access {
  constructor(
    /** Read at each check: the policies module swaps the built-in scope check for Cedar on start. */
    private readonly authorizer: () => Authorizer,
    private readonly events: EventOutbox,
    private readonly db: Executor,
  ) {}

  check(ctx: RequestContext, action: string, resource: ResourceRef, opts: CheckOptions = {}): Promise<Decision> {
    return enforce(this.authorizer(), this.events, opts.db ?? this.db, this.request(ctx, action, resource, opts));
  }

  /** Whether `ctx` may do `action` on `resource`, without throwing or recording: for filtering lists. */
  async allows(ctx: RequestContext, action: string, resource: ResourceRef): Promise<boolean> {
    return (await this.authorizer().authorize(this.request(ctx, action, resource, {}))).allowed;
  }

  private request(ctx: RequestContext, action: string, resource: ResourceRef, opts: CheckOptions): AccessRequest {
    return {
      principal: ctx.principal,
      action,
      resource,
      context: { ip: ctx.ip, ...opts.context },
      audit: opts.audit,
    };
  }
}
