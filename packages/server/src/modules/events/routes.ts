import { CloudEventSchema, Envelope, EventParams, EventStreamQuery, EventType, EventsQuery } from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { type SseOptions, type SseStream, lastEventId, openSse } from '../../platform/http/sse.js';
import type { EventSubscription } from './hub.js';
import { type EventService, eventTypes, parseFilter, toCloudEventJson } from './service.js';
import { type LoggedEvent, formatPosition } from './store.js';

const read = { auth: { scopes: ['events:read'] } };
const tags = ['Events'];

/** One SSE event per CloudEvent: `id:` is its position (resume with Last-Event-ID), no `event:` (so `onmessage` gets it). */
function sseBatch(batch: LoggedEvent[]): string {
  let out = '';
  for (const e of batch) out += `id: ${formatPosition(e.position)}\ndata: ${JSON.stringify(toCloudEventJson(e.event, e.position))}\n\n`;
  return out;
}

/** The catalogue, the log (list, one event) and its live stream. */
export function eventRoutes(app: LoamApp, events: EventService, sse: SseOptions): void {
  app.get(
    '/api/v1/events/types',
    {
      config: { auth: { scopes: [] } },
      schema: {
        tags,
        summary: 'The event catalogue: every type with its data schema, version and retention',
        response: { 200: Envelope(Type.Array(EventType)) },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, eventTypes()),
  );

  app.get(
    '/api/v1/events',
    {
      config: read,
      schema: {
        tags,
        summary: 'The tenant’s events in log order (oldest first); filters: type (with `*`), subject, since / until',
        querystring: EventsQuery,
        response: { 200: Envelope(Type.Array(CloudEventSchema)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await events.list(contextOf(request), parseFilter(request.query), request.query);
      return sendEnvelope(
        request,
        reply,
        items.map((e) => toCloudEventJson(e.event, e.position)),
        { pagination },
      );
    },
  );

  app.get(
    '/api/v1/events/stream',
    {
      config: read,
      schema: {
        tags,
        summary:
          'Server-Sent Events: one CloudEvent per event, `id:` = its position; resume with Last-Event-ID; live events only when neither a position nor `since` is given',
        querystring: EventStreamQuery,
      },
    },
    async (request, reply) => {
      const filter = parseFilter(request.query);
      let stream: SseStream | undefined;
      let queued: LoggedEvent[][] | undefined = [];
      let failed: Error | undefined;
      const subscription: EventSubscription = await events.subscribe(
        contextOf(request),
        lastEventId(request) ?? request.query.after,
        filter,
        {
          events(batch) {
            if (queued) queued.push(batch);
            else stream?.write(sseBatch(batch));
          },
          failed(err) {
            if (queued) failed = err;
            else stream?.fail({ status: 500, code: 'internal_error', detail: err.message });
          },
        },
      );
      stream = openSse(reply, sse);
      stream.onEnd(() => subscription.close());
      // `ready` first: the subscription is live, and its `id:` is where it starts, so a client
      // that reconnects before any event (EventSource does by itself) resumes without a gap.
      const after = formatPosition(subscription.after);
      stream.write(`id: ${after}\nevent: ready\ndata: ${JSON.stringify({ after, head: formatPosition(subscription.head) })}\n\n`);
      const backlog = queued;
      queued = undefined;
      for (const batch of backlog) stream.write(sseBatch(batch));
      if (failed) stream.fail({ status: 500, code: 'internal_error', detail: failed.message });
    },
  );

  app.get(
    '/api/v1/events/:id',
    {
      config: read,
      schema: { tags, summary: 'One event', params: EventParams, response: { 200: Envelope(CloudEventSchema) } },
    },
    async (request, reply) => {
      const e = await events.get(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, toCloudEventJson(e.event, e.position));
    },
  );
}
