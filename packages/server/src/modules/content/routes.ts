import multipart from '@fastify/multipart';
import {
  AtriumnError,
  BatchIngestRequest,
  BatchIngestResponse,
  CallbackSecret,
  ContentDownloadUrl,
  ContentItem,
  ContentList,
  ContentListQuery,
  ContentTenantQuery,
  ContentMetadata,
  ContentSearchHit,
  ContentSearchQuery,
  ContentStats,
  ContentText,
  Envelope,
  IdParams,
  IngestFileRequest,
  IngestResponse,
  IngestTextRequest,
  IngestUrlRequest,
  UpdateContentRequest,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyRequest } from 'fastify';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import { badRequest } from '../../platform/errors.js';
import type { LoamApp } from '../../platform/http/server.js';
import { checkContentType } from '../storage/routes.js';
import type { ContentService, ItemInput } from './service.js';
import { multipartParts } from '../../platform/http/multipart.js';

const write = (limit: number) => ({ auth: { scopes: ['ingest:write'] }, rateLimit: { limit, windowSec: 60 } }) as const;
const read = (limit: number) => ({ auth: { scopes: ['ingest:read'] }, rateLimit: { limit, windowSec: 60 } }) as const;
const errors = {
  400: AtriumnError,
  401: AtriumnError,
  403: AtriumnError,
  404: AtriumnError,
  409: AtriumnError,
  413: AtriumnError,
  429: AtriumnError,
};
const tags = ['Ingest'];

/** Reads the multipart form of `/ingest/file`: fields first, then the part named `file`. */
async function ingestMultipart(request: FastifyRequest, content: ContentService) {
  const fields: Record<string, string> = {};
  let result: Awaited<ReturnType<ContentService['ingestFileStream']>> | undefined;
  for await (const part of multipartParts(request)) {
    if (part.type === 'file') {
      if (part.fieldname !== 'file' || result) {
        part.file.resume(); // not ours: drain it
        continue;
      }
      await request.server.checkNamedTenant(request, fields.tenantId);
      const ctx = contextOf(request, fields.tenantId);
      let metadata: ItemInput['metadata'];
      if (fields.metadata) {
        try {
          metadata = JSON.parse(fields.metadata);
        } catch {
          metadata = undefined;
        }
        if (!Value.Check(ContentMetadata, metadata)) throw badRequest('metadata must be a JSON object of string values');
      }
      result = await content.ingestFileStream(
        ctx,
        { stream: part.file, filename: part.filename, contentType: part.mimetype },
        { userId: fields.userId, metadata, callbackUrl: fields.callbackUrl },
      );
    } else {
      if (result && part.fieldname === 'tenantId')
        throw badRequest('Send the tenantId field before the file part', [
          { field: 'tenantId', code: 'invalid_value', message: 'tenantId must come before the file part' },
        ]);
      fields[part.fieldname] = String(part.value);
    }
  }
  if (!result)
    throw badRequest("The form has no file part named 'file'", [
      { field: 'file', code: 'required_field_missing', message: 'file is required' },
    ]);
  return result;
}

/** The Atriumn ingest service (§6): `/ingest/*` and `/content*`. */
export async function contentAtriumnRoutes(app: LoamApp, content: ContentService, maxFileBytes: number): Promise<void> {
  await app.register(multipart, {
    limits: { fileSize: maxFileBytes + 1, files: 1, fields: 20, fieldSize: 64 * 1024, parts: 25 },
    throwFileSizeLimit: false, // the blob store refuses oversize files with 413 file_too_large
  });

  app.post(
    '/ingest/text',
    {
      config: write(20),
      schema: {
        tags,
        summary: 'Ingest inline text, or ask for an upload URL',
        body: IngestTextRequest,
        response: { 200: IngestResponse, 202: IngestResponse, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const ctx = contextOf(request, body.tenantId);
      if (body.content !== undefined) {
        const out = await content.ingestText(ctx, body.content, body);
        return reply.code(202).send(out);
      }
      const contentType = body.contentType ?? 'text/plain';
      checkContentType(contentType);
      return reply.code(200).send(await content.createUpload(ctx, 'TEXT', 'content.txt', contentType, body));
    },
  );

  app.post(
    '/ingest/url',
    {
      config: write(10),
      schema: {
        tags,
        summary: 'Ingest a web page or document by URL (fetched asynchronously)',
        body: IngestUrlRequest,
        response: { 202: IngestResponse, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const out = await content.ingestUrl(contextOf(request, body.tenantId), body.url, body);
      return reply.code(202).send(out);
    },
  );

  app.post(
    '/ingest/file',
    {
      config: write(20),
      schema: {
        tags,
        summary: 'Upload a file (multipart/form-data, part `file`) or ask for an upload URL (JSON)',
        body: { content: { 'application/json': { schema: IngestFileRequest } } },
        response: { 200: IngestResponse, 202: IngestResponse, ...errors },
      },
    },
    async (request, reply) => {
      if (request.isMultipart()) return reply.code(202).send(await ingestMultipart(request, content));
      const body = request.body as IngestFileRequest | undefined;
      if (!body || typeof body !== 'object') throw badRequest('Send multipart/form-data with a file part, or JSON {filename, contentType}');
      checkContentType(body.contentType);
      const ctx = contextOf(request, body.tenantId);
      return reply.code(200).send(await content.createUpload(ctx, 'FILE', body.filename, body.contentType, body));
    },
  );

  app.post(
    '/ingest/batch',
    {
      config: write(10),
      schema: {
        tags,
        summary: 'Ingest up to 100 text or URL items, with a result per item',
        body: BatchIngestRequest,
        response: { 200: BatchIngestResponse, ...errors },
      },
    },
    async (request) => content.ingestBatch(contextOf(request, request.body.tenantId), request.body.items),
  );

  contentItemRoutes(app, content);
}

/** Atriumn's content items: list, get, update, delete, download URL, text, upload completion. */
function contentItemRoutes(app: LoamApp, content: ContentService): void {
  app.get(
    '/content',
    {
      config: read(30),
      schema: { tags, summary: 'List content items', querystring: ContentListQuery, response: { 200: ContentList, ...errors } },
    },
    async (request) => content.list(contextOf(request, request.query.tenantId), request.query),
  );

  app.get(
    '/content/:id',
    {
      config: read(60),
      schema: {
        tags,
        summary: 'Get a content item',
        params: IdParams,
        querystring: ContentTenantQuery,
        response: { 200: ContentItem, ...errors },
      },
    },
    async (request) => content.get(contextOf(request, request.query.tenantId), request.params.id),
  );

  app.patch(
    '/content/:id',
    {
      config: write(20),
      schema: {
        tags,
        summary: 'Change sourceUri or merge metadata (a value of "" removes the key)',
        params: IdParams,
        querystring: ContentTenantQuery,
        body: UpdateContentRequest,
        response: { 200: ContentItem, ...errors },
      },
    },
    async (request) => content.update(contextOf(request, request.query.tenantId), request.params.id, request.body),
  );

  app.delete(
    '/content/:id',
    {
      config: write(10),
      schema: { tags, summary: 'Delete a content item, its file, text and index entry', params: IdParams, querystring: ContentTenantQuery },
    },
    async (request, reply) => {
      await content.delete(contextOf(request, request.query.tenantId), request.params.id);
      return reply.code(204).send();
    },
  );

  app.get(
    '/content/:id/download-url',
    {
      config: read(60),
      schema: {
        tags,
        summary: 'A pre-signed URL of the stored file',
        params: IdParams,
        querystring: ContentTenantQuery,
        response: { 200: ContentDownloadUrl, ...errors },
      },
    },
    async (request) => content.downloadUrl(contextOf(request, request.query.tenantId), request.params.id),
  );

  app.get(
    '/content/:id/text',
    {
      config: read(30),
      schema: {
        tags,
        summary: 'The extracted text (raw text for TEXT items)',
        params: IdParams,
        querystring: ContentTenantQuery,
        response: { 200: ContentText, ...errors },
      },
    },
    async (request) => ({ content: await content.getText(contextOf(request, request.query.tenantId), request.params.id) }),
  );

  app.put(
    '/content/:id/text',
    {
      config: write(10),
      schema: { tags, summary: 'Replace the text of a TEXT item', params: IdParams, querystring: ContentTenantQuery, body: ContentText },
    },
    async (request, reply) => {
      await content.putText(contextOf(request, request.query.tenantId), request.params.id, request.body.content);
      return reply.code(204).send();
    },
  );

  app.post(
    '/content/:id/complete',
    {
      config: write(60),
      schema: {
        tags,
        summary: 'Tell Loam an upload to the pre-signed URL finished (S3)',
        params: IdParams,
        querystring: ContentTenantQuery,
        response: { 200: ContentItem, ...errors },
      },
    },
    async (request) => content.completeUpload(contextOf(request, request.query.tenantId), request.params.id),
  );
}

/** Loam's own content routes under /api/v1. */
export function contentApiRoutes(app: LoamApp, content: ContentService): void {
  app.get(
    '/api/v1/content/stats',
    {
      config: { auth: { scopes: ['ingest:read'] } },
      schema: { tags: ['Content'], summary: 'Item counts per status and source type', response: { 200: Envelope(ContentStats) } },
    },
    async (request, reply) => {
      const stats = await content.stats(contextOf(request));
      return sendEnvelope(request, reply, stats, { links: { self: '/api/v1/content/stats' } });
    },
  );

  app.get(
    '/api/v1/content/search',
    {
      config: { auth: { scopes: ['ingest:read'] } },
      schema: {
        tags: ['Content'],
        summary: 'Full-text search over extracted text',
        querystring: ContentSearchQuery,
        response: { 200: Envelope(Type.Array(ContentSearchHit)) },
      },
    },
    async (request, reply) => {
      const hits = await content.searchText(contextOf(request), request.query.q, request.query.limit);
      return sendEnvelope(request, reply, hits);
    },
  );

  app.get(
    '/api/v1/content/callback-secret',
    {
      config: { auth: { scopes: ['ingest:write'] } },
      schema: {
        tags: ['Content'],
        summary: 'The key that signs callbacks (X-Loam-Signature)',
        response: { 200: Envelope(CallbackSecret) },
      },
    },
    async (request, reply) => {
      return sendEnvelope(request, reply, { secret: content.pipeline.callbackSecret(contextOf(request).tenantId) });
    },
  );
}
