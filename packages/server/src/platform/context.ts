import type { Principal } from './principal.js';

/**
 * Who asks, for which tenant, as part of which request. The authentication hook builds it once
 * per request (`contextOf` in http/context.ts); every service method that acts for a caller takes
 * it first, and hands it to `access.check`, to events (correlation and trace ids) and to logs.
 */
export interface RequestContext {
  /** The tenant the request acts on: the principal's, or the one a platform admin named. */
  readonly tenantId: string;
  readonly principal: Principal;
  readonly requestId: string;
  /** The client's address (after trusted proxies). */
  readonly ip: string;
  /** W3C trace context of the request, when the caller sent one. */
  readonly traceparent?: string;
}

/** The same request acting on another tenant (a platform admin's `tenant_id`). */
export const withTenant = (ctx: RequestContext, tenantId: string): RequestContext =>
  tenantId === ctx.tenantId ? ctx : { ...ctx, tenantId };
