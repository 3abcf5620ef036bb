import type { Readable } from 'node:stream';
import {
  AtriumnError,
  BlobParams,
  BlobQuery,
  GenerateDownloadUrlRequest,
  GenerateDownloadUrlResponse,
  GenerateUploadUrlRequest,
  GenerateUploadUrlResponse,
} from '@loam/api';
import { mediaTypeOf } from '../../platform/blob/index.js';
import { BLOB_ROUTE_PREFIX, type LocalBlobStore } from '../../platform/blob/local.js';
import { contextOf } from '../../platform/http/context.js';
import { AppError, badRequest, forbidden, notFound } from '../../platform/errors.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { StorageService } from './service.js';

const MEDIA_TYPE = /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}(\s*;.*)?$/;

/**
 * Media types a browser shows without running anything: served inline. Every other type (HTML,
 * SVG, XML, JavaScript, unknown ones) is served as an attachment, so an upload never runs as
 * active content on Loam's origin.
 */
const INLINE = /^(text\/(plain|csv|markdown)|application\/(json|pdf)|image\/(png|jpeg|gif|webp|avif)|audio\/[\w.+-]+|video\/[\w.+-]+)$/i;

export function servedInline(contentType: string | undefined): boolean {
  return INLINE.test(mediaTypeOf(contentType));
}

export function checkContentType(contentType: string, field = 'contentType'): void {
  if (!MEDIA_TYPE.test(contentType))
    throw badRequest(`${field} must be a media type such as application/pdf`, [
      { field, code: 'invalid_format', message: `${field} must be a media type such as application/pdf` },
    ]);
}

const errors = { 400: AtriumnError, 401: AtriumnError, 403: AtriumnError, 404: AtriumnError, 429: AtriumnError };

/** Atriumn storage service: `/generate-upload-url` and `/generate-download-url` (§5). */
export function storageAtriumnRoutes(app: LoamApp, storage: StorageService): void {
  app.post(
    '/generate-upload-url',
    {
      config: { auth: { scopes: ['storage:write'] }, rateLimit: { limit: 30, windowSec: 60 } },
      schema: {
        tags: ['Storage'],
        summary: 'A pre-signed URL to PUT one file',
        body: GenerateUploadUrlRequest,
        response: { 200: GenerateUploadUrlResponse, ...errors },
      },
    },
    async (request) => {
      const ctx = contextOf(request, request.body.tenantId);
      checkContentType(request.body.contentType);
      const out = await storage.createUploadUrl(ctx, request.body.filename, request.body.contentType);
      return { uploadUrl: out.uploadUrl, s3Key: out.s3Key, httpMethod: 'PUT' as const, expiresIn: out.expiresIn };
    },
  );

  app.post(
    '/generate-download-url',
    {
      config: { auth: { scopes: ['storage:read'] }, rateLimit: { limit: 60, windowSec: 60 } },
      schema: {
        tags: ['Storage'],
        summary: 'A pre-signed URL to GET one file',
        body: GenerateDownloadUrlRequest,
        response: { 200: GenerateDownloadUrlResponse, ...errors },
      },
    },
    async (request) => {
      const ctx = contextOf(request, request.body.tenantId);
      const out = await storage.createDownloadUrl(ctx, request.body.s3Key);
      return { downloadUrl: out.downloadUrl, httpMethod: 'GET' as const, expiresIn: out.expiresIn };
    },
  );
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n` (one range); null = serve everything, 'unsatisfiable' = 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null; // multi-range or malformed: RFC 9110 allows ignoring it
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/**
 * The local store's pre-signed URLs: `PUT /blobs/<key>` streams the body to disk within the limits
 * (413 and nothing kept past them) and answers 200 with no body; `GET /blobs/<key>` streams the
 * object with its type, ETag, length and Range support. No credentials: the signature is the grant.
 */
export async function localBlobRoutes(app: LoamApp, storage: StorageService, store: LocalBlobStore): Promise<void> {
  await app.register(async (instance) => {
    const scope = instance as unknown as LoamApp;
    // The body is the object: hand the raw stream to the handler whatever its type.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

    const keyOf = (raw: string): string => {
      try {
        return decodeURIComponent(raw);
      } catch {
        throw notFound('Object');
      }
    };
    const check = (method: 'GET' | 'PUT', key: string, q: { expires?: string; signature?: string }, contentType: string) => {
      const verdict = store.verify(method, key, q.expires, q.signature, contentType);
      if (verdict === 'expired') throw forbidden('The pre-signed URL has expired');
      if (verdict === 'invalid')
        throw forbidden(
          method === 'PUT'
            ? 'The signature does not match (wrong URL, or a Content-Type other than the one the URL was issued for)'
            : 'The signature does not match',
        );
    };

    scope.put(
      `${BLOB_ROUTE_PREFIX}*`,
      {
        config: { rateLimit: false },
        bodyLimit: Number.MAX_SAFE_INTEGER, // the store enforces the file limit while streaming
        schema: { hide: true, params: BlobParams, querystring: BlobQuery },
      },
      async (request, reply) => {
        const key = keyOf(request.params['*']);
        const contentType = request.headers['content-type'] ?? '';
        check('PUT', key, request.query, contentType);
        const body = (request.body as Readable | undefined) ?? request.raw;
        await storage.receiveUpload(key, body, contentType || 'application/octet-stream');
        return reply.code(200).send();
      },
    );

    scope.get(
      `${BLOB_ROUTE_PREFIX}*`,
      {
        config: { rateLimit: false },
        compress: false,
        schema: { hide: true, params: BlobParams, querystring: BlobQuery },
      },
      async (request, reply) => {
        const key = keyOf(request.params['*']);
        check('GET', key, request.query, '');
        const info = await store.head(key);
        if (!info) throw notFound('Object');
        reply
          .header('etag', info.etag)
          .header('accept-ranges', 'bytes')
          .type(info.contentType || 'application/octet-stream');
        reply.header('cache-control', 'private, max-age=0');
        if (!servedInline(info.contentType)) reply.header('content-disposition', 'attachment');
        if (request.headers['if-none-match'] === info.etag) return reply.code(304).send();
        const range = parseRange(request.headers.range, info.size);
        if (range === 'unsatisfiable') {
          reply.header('content-range', `bytes */${info.size}`);
          throw new AppError('range_not_satisfiable', 416, `The range is outside the object's ${info.size} bytes`, undefined, {
            'content-range': `bytes */${info.size}`,
          });
        }
        if (range) {
          reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
          reply.header('content-length', range.end - range.start + 1);
          return reply.send(info.size === 0 ? '' : store.stream(key, range));
        }
        reply.header('content-length', info.size);
        return reply.send(info.size === 0 ? '' : store.stream(key));
      },
    );
  });
}
