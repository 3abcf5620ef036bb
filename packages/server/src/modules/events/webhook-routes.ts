import {
  CreateWebhook,
  DeliveriesQuery,
  DeliveryParams,
  Envelope,
  ReplayResult,
  ReplayWebhook,
  RotateWebhookSecret,
  UpdateWebhook,
  Webhook,
  WebhookDelivery,
  WebhookParams,
  WebhooksQuery,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { type WebhookService, toWebhook } from './webhooks.js';

const admin = { auth: { scopes: ['events:admin'] } };
const tags = ['Webhooks'];

/** Webhook endpoints, their deliveries, retry, replay and test. */
export function webhookRoutes(app: LoamApp, hooks: WebhookService): void {
  app.post(
    '/api/v1/webhooks',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Create an endpoint; the answer shows its secret (whsec_…) once',
        body: CreateWebhook,
        response: { 201: Envelope(Webhook) },
      },
    },
    async (request, reply) => {
      const created = await hooks.create(contextOf(request), request.body);
      return sendEnvelope(request, reply, created, { status: 201, location: `/api/v1/webhooks/${created.id}` });
    },
  );

  app.get(
    '/api/v1/webhooks',
    {
      config: admin,
      schema: { tags, summary: 'The tenant’s endpoints', querystring: WebhooksQuery, response: { 200: Envelope(Type.Array(Webhook)) } },
    },
    async (request, reply) => {
      const { items, pagination } = await hooks.list(contextOf(request), request.query);
      return sendEnvelope(
        request,
        reply,
        items.map((r) => toWebhook(r)),
        { pagination },
      );
    },
  );

  app.get(
    '/api/v1/webhooks/:id',
    {
      config: admin,
      schema: { tags, summary: 'One endpoint (without its secret)', params: WebhookParams, response: { 200: Envelope(Webhook) } },
    },
    async (request, reply) => sendEnvelope(request, reply, await hooks.get(contextOf(request), request.params.id)),
  );

  app.patch(
    '/api/v1/webhooks/:id',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Change an endpoint (`active: true` re-enables a disabled one)',
        params: WebhookParams,
        body: UpdateWebhook,
        response: { 200: Envelope(Webhook) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await hooks.update(contextOf(request), request.params.id, request.body)),
  );

  app.delete(
    '/api/v1/webhooks/:id',
    { config: admin, schema: { tags, summary: 'Delete an endpoint and its deliveries', params: WebhookParams } },
    async (request, reply) => {
      await hooks.delete(contextOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/webhooks/:id/rotate-secret',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Replace the secret (shown once); the old one also signs during the grace period',
        params: WebhookParams,
        body: Type.Optional(RotateWebhookSecret),
        response: { 200: Envelope(Webhook) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await hooks.rotateSecret(contextOf(request), request.params.id, request.body ?? {})),
  );

  deliveryRoutes(app, hooks);
}

/** Deliveries of an endpoint: history, retry, replay, test. */
function deliveryRoutes(app: LoamApp, hooks: WebhookService): void {
  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      config: admin,
      schema: {
        tags,
        summary:
          'Deliveries, newest first, with every attempt (status code, latency, first 1 KiB of the answer); `status=failed` is the dead-letter list',
        params: WebhookParams,
        querystring: DeliveriesQuery,
        response: { 200: Envelope(Type.Array(WebhookDelivery)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await hooks.deliveries(contextOf(request), request.params.id, request.query.status, request.query);
      return sendEnvelope(request, reply, items, { pagination });
    },
  );

  app.post(
    '/api/v1/webhooks/:id/deliveries/:did/retry',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Send a finished delivery once more, now',
        params: DeliveryParams,
        response: { 202: Envelope(WebhookDelivery) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await hooks.retry(contextOf(request), request.params.id, request.params.did), { status: 202 }),
  );

  app.post(
    '/api/v1/webhooks/:id/replay',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Send the endpoint’s events since a time again (new deliveries; at most 10,000)',
        params: WebhookParams,
        body: ReplayWebhook,
        response: { 202: Envelope(ReplayResult) },
      },
    },
    async (request, reply) =>
      sendEnvelope(request, reply, await hooks.replay(contextOf(request), request.params.id, request.body.since, request.body.until), {
        status: 202,
      }),
  );

  app.post(
    '/api/v1/webhooks/:id/test',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Send a `webhook.test` event to the endpoint',
        params: WebhookParams,
        response: { 202: Envelope(WebhookDelivery) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await hooks.test(contextOf(request), request.params.id), { status: 202 }),
  );
}
