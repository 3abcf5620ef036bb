import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pagination } from '@loam/api';
import type { Principal } from '../principal.js';
import { parseEntityTags } from './etag.js';
import { AppError, unauthorized } from './errors.js';

export const API_V1 = '/api/v1';

/** Route families render errors differently: problem+json under /api/v1, Atriumn elsewhere. */
export const isApiV1 = (url: string): boolean => url === API_V1 || url.startsWith(`${API_V1}/`) || url.startsWith(`${API_V1}?`);

/** The authenticated principal; routes that declare `auth` can rely on it. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

export interface EnvelopeOptions {
  links?: Record<string, string>;
  pagination?: Pagination;
  metadata?: Record<string, unknown>;
  status?: number;
  location?: string;
}

/** Sends `data` in the `/api/v1` success envelope. */
export function sendEnvelope(request: FastifyRequest, reply: FastifyReply, data: unknown, opts: EnvelopeOptions = {}) {
  if (opts.status) reply.code(opts.status);
  if (opts.location) reply.header('location', opts.location);
  // GETs carry an ETag over what they return (not the per-response request id and timestamp);
  // routes with a version-based tag set their own first.
  if (request.method === 'GET' && !opts.status && !reply.hasHeader('etag')) {
    const etag = `W/"${createHash('sha1')
      .update(JSON.stringify([data, opts.pagination ?? null]))
      .digest('base64url')}"`;
    reply.header('etag', etag);
    const tags = parseEntityTags(request.headers['if-none-match']);
    if (tags.includes('*') || tags.includes(etag.slice(2))) return reply.code(304).send();
  }
  return reply.send({
    request_id: String(request.id),
    timestamp: nowRfc3339(),
    status: 'success',
    data,
    metadata: { version: 'v1', ...opts.metadata },
    ...(opts.links ? { links: opts.links } : {}),
    ...(opts.pagination ? { pagination: opts.pagination } : {}),
  });
}

// The envelope's timestamp has second precision: formatted once per second, not per response.
let stampSecond = Number.NaN;
let stamp = '';
function nowRfc3339(): string {
  const second = Math.floor(Date.now() / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stamp = rfc3339(second * 1000);
  }
  return stamp;
}

/** RFC 3339 UTC without milliseconds, as the contracts write timestamps. */
export const rfc3339 = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
export const rfc3339OrNull = (ms: number | null | undefined): string | null => (ms == null ? null : rfc3339(ms));

export const invalidCursor = () => new AppError('invalid_param', 400, 'The cursor is invalid or was tampered with');
