import type { BusMessage, BusServerFrame } from '@loam/api';
import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../../platform/context.js';
import { AppError, unauthorized } from '../../platform/errors.js';
import { rfc3339 } from '../../platform/time.js';
import { requireScopes } from '../../platform/principal.js';
import { SessionDeleted, SubscriptionGap } from './hub.js';
import type { BusService } from './service.js';
import type { StoredMessage } from './store.js';

/** A stored message as JSON text, built around its stored data text (no parse, one stringify). */
export function messageJson(m: StoredMessage): string {
  return `{"id":${JSON.stringify(m.id)},"position":${m.position},"type":${m.type === null ? 'null' : JSON.stringify(m.type)},"data":${m.data},"time":"${rfc3339(m.time)}"}`;
}

export const toBusMessage = (m: StoredMessage): BusMessage => ({
  id: m.id,
  position: m.position,
  type: m.type,
  data: JSON.parse(m.data),
  time: rfc3339(m.time),
});

/** The error frame that ends a subscription. */
export function endFrame(err: Error): Extract<BusServerFrame, { op: 'error' }> {
  if (err instanceof SubscriptionGap)
    return { op: 'error', status: 410, code: 'position_purged', detail: err.message, oldest_position: err.oldestPosition };
  if (err instanceof SessionDeleted) return { op: 'error', status: 404, code: 'not_found', detail: err.message };
  if (err instanceof AppError) return { op: 'error', status: err.status, code: err.code, detail: err.detail };
  return { op: 'error', status: 500, code: 'internal_error', detail: 'The subscription failed' };
}

/**
 * The context of a stream or WebSocket request: its authenticated principal, or the one a session
 * token (`?token=`, for browsers that cannot set headers) stands for.
 */
export function streamContext(
  request: FastifyRequest,
  bus: BusService,
  sessionId: string,
  token: string | undefined,
  scopes: string[],
): RequestContext {
  const principal = request.principal ?? (token ? bus.principalOfToken(token, sessionId) : undefined);
  if (!principal) throw unauthorized(token ? 'The session token is invalid or expired' : undefined);
  requireScopes(principal, scopes);
  const traceparent = request.headers.traceparent;
  return {
    tenantId: principal.tenantId,
    principal,
    requestId: String(request.id),
    ip: request.ip,
    traceparent: typeof traceparent === 'string' ? traceparent : undefined,
  };
}

/** Where a stream starts: after Last-Event-ID when the client resumes, else after `?after=` (0). */
export function startPosition(request: FastifyRequest, after: number | undefined): number {
  const last = request.headers['last-event-id'];
  if (typeof last === 'string' && /^\d{1,15}$/.test(last)) return Number(last);
  return after ?? 0;
}

/**
 * Holds what a subscription delivers until the `ready` frame is out, so `ready` is always first,
 * then passes each batch straight through.
 */
export class Delivery {
  private queue: StoredMessage[][] | undefined = [];
  private ended: Error | undefined;

  constructor(
    private readonly onBatch: (batch: StoredMessage[]) => void,
    private readonly onEnd: (err: Error) => void,
  ) {}

  messages = (batch: StoredMessage[]): void => {
    if (this.queue) this.queue.push(batch);
    else this.onBatch(batch);
  };

  failed = (err: Error): void => {
    if (this.queue) this.ended = err;
    else this.onEnd(err);
  };

  /** Call right after the ready frame is written. */
  started(): void {
    const queued = this.queue ?? [];
    this.queue = undefined;
    for (const batch of queued) this.onBatch(batch);
    if (this.ended) this.onEnd(this.ended);
  }
}
