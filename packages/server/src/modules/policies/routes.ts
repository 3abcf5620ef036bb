import { CreatePolicy, Envelope, IdParams, ListQuery, Policy, PolicySchema, ROLE_SCOPES, ReplacePolicy, UpdatePolicy } from '@loam/api';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { CEDAR_SCHEMA, cedar } from './cedar.js';
import { type PolicyService, preconditionFailed } from './service.js';

const read = { auth: { scopes: ['policies:read'] } } as const;
const write = { auth: { scopes: ['policies:write'] } } as const;
const tags = ['Policies'];
const BASE = '/api/v1/admin/policies';

const etagOf = (p: Policy) => `"${p.version}"`;

/** The version named by `If-Match` (undefined when absent or `*`); an unreadable tag can match nothing. */
function ifMatchVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (!header || header.trim() === '*') return undefined;
  const m = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(header);
  if (!m) throw preconditionFailed();
  return Number(m[1]);
}

function sendPolicy(request: FastifyRequest, reply: FastifyReply, policy: Policy, status?: number) {
  const self = `${BASE}/${policy.id}`;
  reply.header('etag', etagOf(policy));
  return sendEnvelope(request, reply, policy, {
    status,
    location: status === 201 ? self : undefined,
    links: { self },
    metadata: { resource_version: String(policy.version) },
  });
}

export function policyRoutes(app: LoamApp, policies: PolicyService): void {
  app.get(
    `${BASE}/schema`,
    {
      config: read,
      schema: { tags, summary: 'The Cedar schema policies are validated against', response: { 200: Envelope(PolicySchema) } },
    },
    async (request, reply) =>
      sendEnvelope(
        request,
        reply,
        { cedar_version: cedar.getCedarVersion(), schema: CEDAR_SCHEMA, role_scopes: ROLE_SCOPES as Record<string, string[]> },
        { links: { self: `${BASE}/schema` } },
      ),
  );

  app.get(
    BASE,
    {
      config: read,
      schema: { tags, summary: 'List the tenant’s policies', querystring: ListQuery, response: { 200: Envelope(Type.Array(Policy)) } },
    },
    async (request, reply) => {
      const { items, pagination } = await policies.list(contextOf(request), request.query);
      return sendEnvelope(request, reply, items, { pagination, links: { self: BASE } });
    },
  );

  app.post(
    BASE,
    {
      config: write,
      schema: {
        tags,
        summary: 'Create a Cedar policy (validated against the schema)',
        body: CreatePolicy,
        response: { 201: Envelope(Policy) },
      },
    },
    async (request, reply) => {
      const policy = await policies.create(contextOf(request), request.body);
      return sendPolicy(request, reply, policy, 201);
    },
  );

  app.get(
    `${BASE}/:id`,
    {
      config: read,
      schema: { tags, summary: 'Get a policy', params: IdParams, response: { 200: Envelope(Policy), 304: Type.Null() } },
    },
    async (request, reply) => {
      const policy = await policies.get(contextOf(request), request.params.id);
      if (request.headers['if-none-match'] === etagOf(policy)) return reply.code(304).header('etag', etagOf(policy)).send(null);
      return sendPolicy(request, reply, policy);
    },
  );

  app.patch(
    `${BASE}/:id`,
    {
      config: write,
      schema: {
        tags,
        summary: 'Change some fields of a policy',
        params: IdParams,
        body: UpdatePolicy,
        response: { 200: Envelope(Policy) },
      },
    },
    async (request, reply) => {
      const policy = await policies.update(contextOf(request), request.params.id, request.body, ifMatchVersion(request));
      return sendPolicy(request, reply, policy);
    },
  );

  app.put(
    `${BASE}/:id`,
    {
      config: write,
      schema: { tags, summary: 'Replace a policy', params: IdParams, body: ReplacePolicy, response: { 200: Envelope(Policy) } },
    },
    async (request, reply) => {
      const body = { ...request.body, description: request.body.description ?? '' };
      const policy = await policies.update(contextOf(request), request.params.id, body, ifMatchVersion(request));
      return sendPolicy(request, reply, policy);
    },
  );

  app.delete(`${BASE}/:id`, { config: write, schema: { tags, summary: 'Delete a policy', params: IdParams } }, async (request, reply) => {
    await policies.delete(contextOf(request), request.params.id, ifMatchVersion(request));
    return reply.code(204).send();
  });
}
