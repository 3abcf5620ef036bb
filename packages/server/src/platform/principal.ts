import { holdsScope } from '@loam/api';
import type { FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

/** Who is calling: resolved once per request by the authentication hook. */
export interface Principal {
  tenantId: string;
  /** User id, client id or API key id. */
  subject: string;
  kind: 'api_key' | 'user' | 'client';
  roles: string[];
  scopes: string[];
  /** The credential that authenticated the request (key id, token jti, …). */
  credentialId?: string;
  /** Extra attributes for policies (department, clearance, email, …). */
  attributes?: Record<string, string>;
}

/**
 * Resolves a bearer token to a principal, or returns null when the token is not of its kind.
 * An authenticator may answer synchronously (e.g. from a cache of verified tokens): a request
 * whose credential is resolved that way goes through the authentication hook without a promise.
 * `request` (used for logging) is absent where there is no Fastify request (gRPC calls).
 */
export type BearerAuthenticator = (token: string, request?: FastifyRequest) => Principal | null | Promise<Principal | null>;

export const PLATFORM_ADMIN = 'platform_admin';

/** Whether `principal` holds `required` (`service:action`): the rule of `holdsScope` in @loam/api. */
export function hasScope(principal: Principal, required: string): boolean {
  return holdsScope(principal, required);
}

export function requireScopes(principal: Principal, scopes: readonly string[]): void {
  const missing = scopes.filter((s) => !hasScope(principal, s));
  if (missing.length > 0)
    throw new AppError('forbidden', 403, `This credential lacks the scope ${missing.map((s) => `'${s}'`).join(', ')}`);
}

/**
 * The tenant a request acts on: the principal's, unless a `tenantId` names another one, which
 * only a platform admin may do (403 otherwise).
 */
export function effectiveTenant(principal: Principal, requested?: string | null): string {
  if (!requested || requested === principal.tenantId) return principal.tenantId;
  if (principal.roles.includes(PLATFORM_ADMIN)) return requested;
  throw new AppError('forbidden', 403, 'The credential may not act on another tenant');
}
