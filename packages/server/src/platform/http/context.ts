import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pagination } from '@loam/api';
import type { RequestContext } from '../context.js';
import { type Principal, effectiveTenant } from '../principal.js';
import { parseEntityTags } from './etag.js';
import { AppError, unauthorized } from '../errors.js';
import { nowRfc3339 } from '../time.js';

export { rfc3339, rfc3339OrNull } from '../time.js';

export const API_V1 = '/api/v1';

/** Route families render errors differently: problem+json under /api/v1, Atriumn elsewhere. */
export const isApiV1 = (url: string): boolean => url === API_V1 || url.startsWith(`${API_V1}/`) || url.startsWith(`${API_V1}?`);

/** The authenticated principal; routes that declare `auth` can rely on it. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw unauthorized();
  return request.principal;
}

/**
 * The request context services take first: the authenticated principal acting on its own tenant,
 * or on `tenantId` when a platform admin names another one (403 for anyone else).
 */
export function contextOf(request: FastifyRequest, tenantId?: string | null): RequestContext {
  const principal = principalOf(request);
  const traceparent = request.headers.traceparent;
  return {
    tenantId: effectiveTenant(principal, tenantId),
    principal,
    requestId: String(request.id),
    ip: request.ip,
    traceparent: typeof traceparent === 'string' ? traceparent : undefined,
  };
}

export interface EnvelopeOptions {
  links?: Record<string, string>;
  pagination?: Pagination;
  /**
   * The GET URL (path and query) a list's `links.next` and `links.prev` are built on, for a list
   * answered to a POST (`…/records/query`); default: the request's own URL.
   */
  pageUrl?: string;
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
    ...(opts.links || opts.pagination ? { links: pageLinks(opts.pageUrl ?? request.url, opts.links, opts.pagination) } : {}),
    ...(opts.pagination ? { pagination: opts.pagination } : {}),
  });
}

/**
 * A list's `links`: the route's own, and `next` and `prev` from the pagination's cursors on the
 * list's URL with every filter and the page size kept and only the cursor replaced. The one place
 * list links are built: routes pass `pagination` and never assemble `next` or `prev` themselves.
 */
function pageLinks(pageUrl: string, links: Record<string, string> = {}, pagination?: Pagination): Record<string, string> {
  if (!pagination) return links;
  const out = { ...links };
  const url = new URL(pageUrl, 'http://loam.invalid');
  const at = (cursor: string) => {
    url.searchParams.set('cursor', cursor);
    return `${url.pathname}?${url.searchParams}`;
  };
  out.self ??= url.pathname;
  if (pagination.cursor) out.next = at(pagination.cursor);
  if (pagination.prev_cursor) out.prev = at(pagination.prev_cursor);
  return out;
}

export const invalidCursor = () => new AppError('invalid_param', 400, 'The cursor is invalid or was tampered with');
