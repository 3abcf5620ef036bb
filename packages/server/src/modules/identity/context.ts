import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../platform/principal.js';

/**
 * Who asks and from where, on the routes that also serve anonymous callers (sign-up, sign-in,
 * tokens, password reset): the principal when the request carries one. Authenticated routes use
 * the platform's RequestContext, which is one too.
 */
export interface Origin {
  ip: string;
  principal?: Principal;
}

export const originOf = (request: FastifyRequest): Origin => ({ ip: request.ip, principal: request.principal });

/**
 * The common part of every identity event (consumed by the audit log): who acted, as what,
 * from where. Never secrets, tokens or passwords.
 */
export function actorData(ctx: Origin, fallback: { actor: string | null; kind: string }): Record<string, unknown> {
  return {
    actor: ctx.principal?.subject ?? fallback.actor,
    actor_kind: ctx.principal?.kind ?? fallback.kind,
    ip: ctx.ip,
  };
}
