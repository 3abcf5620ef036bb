import { ApiKey, ApiKeyWithSecret, CreateApiKey, Envelope, IdParams, ListQuery } from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { ApiKeyService } from './service.js';

const admin = { auth: { scopes: ['auth:admin'] } } as const;

export function apiKeyRoutes(app: LoamApp, apiKeys: ApiKeyService): void {
  app.get(
    '/api/v1/api-keys',
    {
      config: admin,
      schema: { tags: ['API keys'], summary: 'List API keys', querystring: ListQuery, response: { 200: Envelope(Type.Array(ApiKey)) } },
    },
    async (request, reply) => {
      const { items, pagination } = await apiKeys.list(contextOf(request), request.query);
      return sendEnvelope(request, reply, items, { pagination, links: { self: '/api/v1/api-keys' } });
    },
  );

  app.post(
    '/api/v1/api-keys',
    {
      config: admin,
      schema: {
        tags: ['API keys'],
        summary: 'Create an API key (the secret is shown once)',
        body: CreateApiKey,
        response: { 201: Envelope(ApiKeyWithSecret) },
      },
    },
    async (request, reply) => {
      const key = await apiKeys.create(contextOf(request), request.body);
      const self = `/api/v1/api-keys/${key.id}`;
      return sendEnvelope(request, reply, key, { status: 201, location: self, links: { self } });
    },
  );

  app.get(
    '/api/v1/api-keys/:id',
    { config: admin, schema: { tags: ['API keys'], summary: 'Get an API key', params: IdParams, response: { 200: Envelope(ApiKey) } } },
    async (request, reply) => {
      const key = await apiKeys.get(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, key, { links: { self: `/api/v1/api-keys/${key.id}` } });
    },
  );

  app.delete(
    '/api/v1/api-keys/:id',
    { config: admin, schema: { tags: ['API keys'], summary: 'Revoke an API key', params: IdParams } },
    async (request, reply) => {
      await apiKeys.revoke(contextOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/api-keys/:id/rotate',
    {
      config: admin,
      schema: {
        tags: ['API keys'],
        summary: 'Replace the secret of an API key',
        params: IdParams,
        response: { 200: Envelope(ApiKeyWithSecret) },
      },
    },
    async (request, reply) => {
      const key = await apiKeys.rotate(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, key, { links: { self: `/api/v1/api-keys/${key.id}` } });
    },
  );
}
