import { AuditEntry, AuditQuery, AuditVerifyResult, Envelope, IdParams } from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { AuditService } from './service.js';

/** Read-only by design: there is no route that changes or removes an entry. */
const auditRead = { auth: { scopes: ['audit:read'] } } as const;
const tags = ['Audit log'];
const BASE = '/api/v1/admin/audit-logs';

export function auditRoutes(app: LoamApp, audit: AuditService): void {
  app.get(
    BASE,
    {
      config: auditRead,
      schema: {
        tags,
        summary: 'List audit entries (oldest first, or newest first with sort=-time), with filters',
        querystring: AuditQuery,
        response: { 200: Envelope(Type.Array(AuditEntry)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await audit.list(contextOf(request), request.query);
      return sendEnvelope(request, reply, items, { pagination, links: { self: BASE, verify: `${BASE}/verify` } });
    },
  );

  app.get(
    `${BASE}/:id`,
    { config: auditRead, schema: { tags, summary: 'Get an audit entry', params: IdParams, response: { 200: Envelope(AuditEntry) } } },
    async (request, reply) => {
      const entry = await audit.get(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, entry, { links: { self: `${BASE}/${entry.id}` } });
    },
  );

  app.post(
    `${BASE}/verify`,
    {
      config: auditRead,
      schema: {
        tags,
        summary: 'Check the tenant’s hash chain and report the first broken link',
        response: { 200: Envelope(AuditVerifyResult) },
      },
    },
    async (request, reply) => {
      const result = await audit.verify(contextOf(request));
      return sendEnvelope(request, reply, result, { links: { self: `${BASE}/verify` } });
    },
  );
}
