import type { FastifyRequest } from 'fastify';
import { isApiV1 } from './context.js';

const ENVELOPE_KEYS = new Set(['request_id', 'data', 'options']);

/**
 * /api/v1 accepts a request either bare or in the envelope of contracts/api-v1.md:
 * `{"request_id", "data", "options": {"idempotency_key", …}}`. An object whose keys are only
 * those (with `data` present) is unwrapped before validation, and `options.idempotency_key`
 * stands in for the Idempotency-Key header when that is absent.
 */
export async function unwrapRequestEnvelope(request: FastifyRequest): Promise<void> {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body) || !isApiV1(request.url)) return;
  const keys = Object.keys(body);
  if (!keys.includes('data') || !keys.every((k) => ENVELOPE_KEYS.has(k))) return;
  const envelope = body as { data: unknown; options?: { idempotency_key?: unknown } };
  const key = envelope.options?.idempotency_key;
  if (typeof key === 'string' && request.headers['idempotency-key'] === undefined) request.headers['idempotency-key'] = key;
  request.body = envelope.data;
}
