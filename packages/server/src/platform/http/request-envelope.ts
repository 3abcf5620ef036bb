import type { FastifyRequest } from 'fastify';

const ENVELOPE_KEYS = new Set(['request_id', 'data', 'options']);

/**
 * Attached to /api/v1 routes with a body (app.ts). /api/v1 accepts a request either bare or in the envelope of contracts/api-v1.md:
 * `{"request_id", "data", "options": {"idempotency_key", …}}`. An object whose keys are only
 * those (`data` and at least one other) is unwrapped before validation, and `options.idempotency_key`
 * stands in for the Idempotency-Key header when that is absent.
 */
export async function unwrapRequestEnvelope(request: FastifyRequest): Promise<void> {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) return;
  const keys = Object.keys(body);
  // `{data}` alone is a bare payload (a record is `{id, data}`): an envelope also names
  // `request_id` or `options`.
  if (!keys.includes('data') || keys.length < 2 || !keys.every((k) => ENVELOPE_KEYS.has(k))) return;
  const envelope = body as { data: unknown; options?: { idempotency_key?: unknown } };
  const key = envelope.options?.idempotency_key;
  if (typeof key === 'string' && request.headers['idempotency-key'] === undefined) request.headers['idempotency-key'] = key;
  request.body = envelope.data;
}
