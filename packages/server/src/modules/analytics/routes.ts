import { AnalyticsEvent, AnalyticsEventsQuery, CreateAnalyticsEvent, Envelope, MetricsSummary } from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { AnalyticsService } from './service.js';

const tags = ['Analytics'];
const BASE = '/api/v1/analytics/events';

export function analyticsRoutes(app: LoamApp, analytics: AnalyticsService): void {
  app.post(
    BASE,
    {
      config: { auth: { scopes: ['analytics:write'] } },
      schema: {
        tags,
        summary: 'Record a custom analytics event (a quality score, a lineage note, …) in your tenant',
        body: CreateAnalyticsEvent,
        response: { 201: Envelope(AnalyticsEvent) },
      },
    },
    async (request, reply) => {
      const event = await analytics.record(contextOf(request), request.body);
      return sendEnvelope(request, reply, event, {
        status: 201,
        location: `${BASE}?type=${encodeURIComponent(event.type)}`,
        links: { self: BASE },
      });
    },
  );

  app.get(
    BASE,
    {
      config: { auth: { scopes: ['analytics:read'] } },
      schema: {
        tags,
        summary: 'List your tenant’s analytics events, oldest first, by type, subject and time',
        querystring: AnalyticsEventsQuery,
        response: { 200: Envelope(Type.Array(AnalyticsEvent)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await analytics.list(contextOf(request), request.query);
      return sendEnvelope(request, reply, items, { pagination, links: { self: BASE } });
    },
  );

  app.get(
    '/api/v1/admin/metrics',
    {
      config: { auth: { scopes: ['admin'] } },
      schema: {
        tags,
        summary: 'Operational metrics of this instance as JSON (platform admins)',
        response: { 200: Envelope(MetricsSummary) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await analytics.metrics(contextOf(request)), { links: { self: '/api/v1/admin/metrics' } }),
  );
}
