import type { FastifyRequest } from 'fastify';
import type { Principal } from '../../platform/principal.js';

/** Who asks and from where, as the services need it for events and tenant decisions. */
export interface RequestContext {
  ip: string;
  principal?: Principal;
}

export const contextOf = (request: FastifyRequest): RequestContext => ({ ip: request.ip, principal: request.principal });

/**
 * The common part of every identity event (consumed by the audit log): who acted, as what,
 * from where. Never secrets, tokens or passwords.
 */
export function actorData(ctx: RequestContext, fallback: { actor: string | null; kind: string }): Record<string, unknown> {
  return {
    actor: ctx.principal?.subject ?? fallback.actor,
    actor_kind: ctx.principal?.kind ?? fallback.kind,
    ip: ctx.ip,
  };
}
