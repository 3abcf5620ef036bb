import {
  CreateTenant,
  Envelope,
  ListQuery,
  Tenant as TenantSchema,
  TenantErasure,
  TenantParams,
  TenantUsage,
  TenantUsageQuery,
  UpdateTenant,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, rfc3339, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { Tenant, TenantService } from './service.js';

const config = { auth: { scopes: ['tenants:admin'] } } as const;
const tags = ['Tenants'];

const toApi = (t: Tenant) => ({
  id: t.id,
  name: t.name,
  tier: t.tier,
  status: t.status,
  quotas: t.quotas,
  created_at: rfc3339(t.createdAt),
  updated_at: rfc3339(t.updatedAt),
});

/** The operator API: platform admins create, list, change, suspend and erase tenants. */
export function tenantRoutes(app: LoamApp, tenants: TenantService): void {
  // Requests per tenant and day, for the usage report (counted in memory, written every few seconds).
  app.addHook('onResponse', (request, reply, done) => {
    const principal = request.principal;
    if (principal && request.routeOptions.url) {
      tenants.usage.request(principal.tenantId, reply.statusCode < 300 && request.routeOptions.url.includes('anonymiz'));
    }
    done();
  });

  app.post(
    '/api/v1/admin/tenants',
    {
      config,
      schema: { tags, summary: 'Create a tenant (platform admins)', body: CreateTenant, response: { 201: Envelope(TenantSchema) } },
    },
    async (request, reply) => {
      const tenant = await tenants.create(contextOf(request), request.body);
      const self = `/api/v1/admin/tenants/${tenant.id}`;
      return sendEnvelope(request, reply, toApi(tenant), { status: 201, location: self, links: { self } });
    },
  );

  app.get(
    '/api/v1/admin/tenants',
    {
      config,
      schema: {
        tags,
        summary: 'List tenants (platform admins)',
        querystring: ListQuery,
        response: { 200: Envelope(Type.Array(TenantSchema)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await tenants.list(contextOf(request), request.query);
      return sendEnvelope(request, reply, items.map(toApi), { pagination, links: { self: '/api/v1/admin/tenants' } });
    },
  );

  app.get(
    '/api/v1/admin/tenants/:id',
    {
      config,
      schema: { tags, summary: 'Get a tenant (platform admins)', params: TenantParams, response: { 200: Envelope(TenantSchema) } },
    },
    async (request, reply) => {
      const tenant = await tenants.read(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, toApi(tenant), { links: { self: `/api/v1/admin/tenants/${tenant.id}` } });
    },
  );

  app.patch(
    '/api/v1/admin/tenants/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a tenant: name, tier, quotas, or status (suspend / reactivate)',
        params: TenantParams,
        body: UpdateTenant,
        response: { 200: Envelope(TenantSchema) },
      },
    },
    async (request, reply) => {
      const tenant = await tenants.update(contextOf(request), request.params.id, request.body);
      return sendEnvelope(request, reply, toApi(tenant), { links: { self: `/api/v1/admin/tenants/${tenant.id}` } });
    },
  );

  app.delete(
    '/api/v1/admin/tenants/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Erase a tenant: a job that destroys its keys, blobs and rows (202)',
        params: TenantParams,
        response: { 202: Envelope(TenantErasure) },
      },
    },
    async (request, reply) => {
      const erasure = await tenants.erase(contextOf(request), request.params.id);
      const job = `/api/v1/jobs/${erasure.job_id}`;
      return sendEnvelope(request, reply, erasure, { status: 202, location: job, links: { job } });
    },
  );

  app.get(
    '/api/v1/admin/tenants/:id/usage',
    {
      config,
      schema: {
        tags,
        summary: 'Usage of a tenant per day: requests, tokens, anonymizations; storage and records held',
        params: TenantParams,
        querystring: TenantUsageQuery,
        response: { 200: Envelope(TenantUsage) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await tenants.usageOf(contextOf(request), request.params.id, request.query.days ?? 30), {
        links: { self: `/api/v1/admin/tenants/${request.params.id}/usage`, tenant: `/api/v1/admin/tenants/${request.params.id}` },
      }),
  );
}
