import multipart from '@fastify/multipart';
import {
  AddContentItem,
  Collection,
  CreateCollection,
  CreateDocument,
  DocumentsQuery,
  Envelope,
  IdParams,
  KbDocument,
  ListQuery,
  UpdateCollection,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../../platform/errors.js';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { LlmGateway } from '../llm/gateway.js';
import { type KnowledgeRouteDeps, queryRoutes, searchRoutes } from './query-routes.js';
import type { Answerer } from './answer.js';
import type { Retrieval } from './retrieval.js';
import type { KnowledgeService } from './service.js';
import { multipartParts } from '../../platform/http/multipart.js';

const read = { auth: { scopes: ['knowledge:read'] } };
const write = { auth: { scopes: ['knowledge:write'] } };
const tags = ['Knowledge'];

/** Reads `POST /api/v1/documents` as multipart: fields `collection_id`, `metadata` (JSON), then the part `file`. */
async function uploadMultipart(request: FastifyRequest, knowledge: KnowledgeService) {
  const fields: Record<string, string> = {};
  let result: Awaited<ReturnType<KnowledgeService['uploadDocument']>> | undefined;
  for await (const part of multipartParts(request)) {
    if (part.type !== 'file') {
      fields[part.fieldname] = String(part.value);
      continue;
    }
    if (part.fieldname !== 'file' || result) {
      part.file.resume();
      continue;
    }
    if (!fields.collection_id) throw badRequest('Send the collection_id field before the file part');
    let metadata: Record<string, unknown> | undefined;
    if (fields.metadata) {
      try {
        metadata = JSON.parse(fields.metadata);
      } catch {
        metadata = undefined;
      }
      if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata)) throw badRequest('metadata must be a JSON object');
    }
    result = await knowledge.uploadDocument(
      contextOf(request),
      {
        collection_id: fields.collection_id,
        filename: part.filename || 'upload',
        content_type: part.mimetype || 'application/octet-stream',
        metadata,
      },
      part.file,
    );
  }
  if (!result) throw badRequest("The form has no file part named 'file'");
  return result;
}

export async function knowledgeRoutes(app: LoamApp, deps: KnowledgeRouteDeps): Promise<void> {
  const { knowledge, retrieval } = deps;
  await app.register(multipart, {
    limits: { fileSize: deps.maxFileBytes + 1, files: 1, fields: 10, fieldSize: 64 * 1024, parts: 12 },
    throwFileSizeLimit: false,
  });

  // ---------------------------------------------------------------- collections
  app.post(
    '/api/v1/collections',
    {
      config: write,
      schema: { tags, summary: 'Create a collection (knowledge base)', body: CreateCollection, response: { 201: Envelope(Collection) } },
    },
    async (request, reply) => {
      const c = await knowledge.createCollection(contextOf(request), request.body);
      return sendEnvelope(request, reply, c, { status: 201, location: `/api/v1/collections/${c.id}` });
    },
  );
  app.get(
    '/api/v1/collections',
    {
      config: read,
      schema: { tags, summary: 'List collections', querystring: ListQuery, response: { 200: Envelope(Type.Array(Collection)) } },
    },
    async (request, reply) => {
      const r = await knowledge.listCollections(contextOf(request), request.query);
      return sendEnvelope(request, reply, r.items, { pagination: r.pagination });
    },
  );
  app.get(
    '/api/v1/collections/:id',
    { config: read, schema: { tags, summary: 'Get a collection', params: IdParams, response: { 200: Envelope(Collection) } } },
    async (request, reply) => sendEnvelope(request, reply, await knowledge.getCollection(contextOf(request), request.params.id)),
  );
  app.patch(
    '/api/v1/collections/:id',
    {
      config: write,
      schema: { tags, summary: 'Update a collection', params: IdParams, body: UpdateCollection, response: { 200: Envelope(Collection) } },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await knowledge.updateCollection(contextOf(request), request.params.id, request.body)),
  );
  app.delete(
    '/api/v1/collections/:id',
    { config: write, schema: { tags, summary: 'Delete a collection and its documents', params: IdParams } },
    async (request, reply) => {
      await knowledge.deleteCollection(contextOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
  app.post(
    '/api/v1/collections/:id/content',
    {
      config: write,
      schema: {
        tags,
        summary: 'Add a processed content item to the collection',
        params: IdParams,
        body: AddContentItem,
        response: { 202: Envelope(KbDocument) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await knowledge.addContentItem(contextOf(request), request.params.id, request.body), { status: 202 }),
  );

  // ---------------------------------------------------------------- documents
  app.post(
    '/api/v1/documents',
    {
      config: write,
      schema: {
        tags,
        summary: 'Create a document: JSON answers with a pre-signed upload URL; multipart/form-data uploads the file',
        body: { content: { 'application/json': { schema: CreateDocument } } },
        response: { 201: Envelope(KbDocument), 202: Envelope(KbDocument) },
      },
    },
    async (request, reply) => {
      if (request.isMultipart()) return sendEnvelope(request, reply, await uploadMultipart(request, knowledge), { status: 202 });
      const body = request.body as CreateDocument | undefined;
      if (!body || typeof body !== 'object')
        throw badRequest('Send JSON {collection_id, filename, content_type}, or multipart/form-data with a file');
      const doc = await knowledge.createDocument(contextOf(request), body);
      return sendEnvelope(request, reply, doc, { status: 201, location: `/api/v1/documents/${doc.id}` });
    },
  );
  app.get(
    '/api/v1/documents',
    {
      config: read,
      schema: { tags, summary: 'List documents', querystring: DocumentsQuery, response: { 200: Envelope(Type.Array(KbDocument)) } },
    },
    async (request, reply) => {
      const q = request.query;
      const r = await knowledge.listDocuments(contextOf(request), { collectionId: q.collection_id, status: q.status }, q);
      return sendEnvelope(request, reply, r.items, { pagination: r.pagination });
    },
  );
  app.get(
    '/api/v1/documents/:id',
    {
      config: read,
      schema: { tags, summary: 'Get a document and its workflow state', params: IdParams, response: { 200: Envelope(KbDocument) } },
    },
    async (request, reply) => sendEnvelope(request, reply, await knowledge.getDocument(contextOf(request), request.params.id)),
  );
  app.delete(
    '/api/v1/documents/:id',
    { config: write, schema: { tags, summary: 'Delete a document, its file and its chunks', params: IdParams } },
    async (request, reply) => {
      await knowledge.deleteDocument(contextOf(request), request.params.id);
      return reply.code(204).send();
    },
  );
  app.post(
    '/api/v1/documents/:id/complete',
    {
      config: write,
      schema: {
        tags,
        summary: 'Signal that the file was uploaded: starts the workflow',
        params: IdParams,
        response: { 200: Envelope(KbDocument) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await knowledge.completeUpload(contextOf(request), request.params.id)),
  );
  app.post(
    '/api/v1/documents/:id/reindex',
    { config: write, schema: { tags, summary: 'Run the workflow again', params: IdParams, response: { 202: Envelope(KbDocument) } } },
    async (request, reply) => sendEnvelope(request, reply, await knowledge.reindex(contextOf(request), request.params.id), { status: 202 }),
  );

  searchRoutes(app, deps);
  queryRoutes(app, deps);
}
