import {
  AnonymizationRequirements,
  AnonymizationRequirementsRequest,
  CatalogEntry,
  CatalogQuery,
  ComplianceReport,
  ComplianceReportQuery,
  Envelope,
  EvaluatePolicyRequest,
  PolicyDecision,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { complianceHtml } from './compliance.js';
import type { GovernanceService } from './service.js';

const tags = ['Governance'];

export function governanceRoutes(app: LoamApp, governance: GovernanceService): void {
  app.get(
    '/api/v1/governance/compliance-report',
    {
      config: { auth: { scopes: ['governance:read'] } },
      schema: {
        tags,
        summary:
          'Compliance report (GDPR, HIPAA or SOC2): controls with status, evidence and remediation; Accept: text/html for a printable page',
        querystring: ComplianceReportQuery,
        response: { 200: Envelope(ComplianceReport) },
      },
    },
    async (request, reply) => {
      const report = await governance.complianceReport(contextOf(request), request.query);
      const accept = request.headers.accept ?? '';
      if (accept.includes('text/html') && !accept.includes('application/json')) {
        // The page's inline style needs its own CSP (the default forbids any).
        reply.header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
        return reply.type('text/html; charset=utf-8').send(complianceHtml(report) as never);
      }
      return sendEnvelope(request, reply, report, { links: { self: '/api/v1/governance/compliance-report' } });
    },
  );

  app.post(
    '/api/v1/policies/evaluate',
    {
      config: { auth: { scopes: ['policies:read'] } },
      schema: {
        tags,
        summary: 'Evaluate an access request as the access check would: decision, obligations, deciding policies, reasons',
        body: EvaluatePolicyRequest,
        response: { 200: Envelope(PolicyDecision) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await governance.evaluate(contextOf(request), request.body)),
  );

  app.get(
    '/api/v1/catalog/datasets',
    {
      config: { auth: { scopes: ['datasets:read'] } },
      schema: {
        tags,
        summary: 'Search the datasets you may read by name, description, tag or field name, with their versions',
        querystring: CatalogQuery,
        response: { 200: Envelope(Type.Array(CatalogEntry)) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await governance.catalog(contextOf(request), request.query), {
        links: { self: '/api/v1/catalog/datasets' },
      }),
  );

  app.post(
    '/api/v1/policies/anonymization-requirements',
    {
      config: { auth: { scopes: ['datasets:read'] } },
      schema: {
        tags,
        summary: "A dataset's PII fields and the anonymization techniques its classification requires",
        body: AnonymizationRequirementsRequest,
        response: { 200: Envelope(AnonymizationRequirements) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await governance.anonymizationRequirements(contextOf(request), request.body)),
  );
}
