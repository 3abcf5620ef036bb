import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

/**
 * Conditional requests (contracts/api-v1.md): GET answers carry an `ETag` and honour
 * `If-None-Match` with 304; writes honour `If-Match` with 412 on mismatch.
 */

/** The tags listed in an `If-Match` / `If-None-Match` header (`*` kept as is; weak prefixes dropped). */
export function parseEntityTags(header: string | string[] | undefined): string[] {
  if (header === undefined) return [];
  const raw = Array.isArray(header) ? header.join(',') : header;
  return raw
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .filter(Boolean);
}

/** Sets `ETag`; answers 304 (and returns true) when `If-None-Match` names it. */
export function notModified(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag);
  const tags = parseEntityTags(request.headers['if-none-match']);
  if (tags.includes('*') || tags.includes(etag)) {
    reply.code(304).send();
    return true;
  }
  return false;
}

/**
 * The tag `If-Match` asks for: undefined when absent or `*` (no precondition), else the listed
 * tags. Services compare it with the current tag inside their write.
 */
export function ifMatchOf(request: FastifyRequest): string[] | undefined {
  const tags = parseEntityTags(request.headers['if-match']);
  if (tags.length === 0 || tags.includes('*')) return undefined;
  return tags;
}

export const preconditionFailed = (what = 'resource') =>
  new AppError('precondition_failed', 412, `The ${what} changed since you read it: If-Match does not match its current ETag`);

/** Throws 412 unless `current` is among `expected` (no precondition when `expected` is undefined). */
export function checkIfMatch(expected: string[] | undefined, current: string, what?: string): void {
  if (expected && !expected.includes(current)) throw preconditionFailed(what);
}
