import {
  BusMessage,
  ChannelSchema,
  Envelope,
  MessagesQuery,
  PrefixParams,
  PutChannelSchema,
  PutRetention,
  Retention,
  RetentionPrefixParams,
  SendMessages,
  SentMessages,
  Session,
  SessionParams,
  SessionToken,
  SessionsQuery,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../platform/http/context.js';
import type { LoamApp } from '../../platform/http/server.js';
import { rfc3339 } from '../../platform/time.js';
import type { BusService } from './service.js';
import type { SessionRow } from './store.js';
import { toBusMessage } from './wire.js';

const read = { auth: { scopes: ['bus:read'] } };
const write = { auth: { scopes: ['bus:write'] } };
const admin = { auth: { scopes: ['bus:admin'] } };
const tags = ['Message bus'];

const toSession = (s: SessionRow): Session => ({
  id: s.id,
  head: s.head,
  purged_through: s.purgedThrough,
  created_at: rfc3339(s.createdAt),
  last_activity_at: rfc3339(s.lastActivityAt),
});

/** `*` in a path stands for the tenant-wide default ('' prefix). */
const prefixOf = (p: string) => (p === '*' ? '' : p);

/** Sessions and their messages: send, history, list, delete, tokens for browsers. */
export function busRoutes(app: LoamApp, bus: BusService): void {
  app.post(
    '/api/v1/sessions/:sid/messages',
    {
      config: write,
      schema: {
        tags,
        summary: 'Send a message, or a batch of messages, to a session (created on first send)',
        params: SessionParams,
        body: SendMessages,
        response: { 201: Envelope(SentMessages) },
      },
    },
    async (request, reply) => {
      const { sid } = request.params;
      const body = request.body;
      const stored = await bus.send(contextOf(request), sid, Array.isArray(body) ? body : [body]);
      return sendEnvelope(request, reply, { session_id: sid, messages: stored.map(toBusMessage) }, { status: 201 });
    },
  );

  app.get(
    '/api/v1/sessions/:sid/messages',
    {
      config: read,
      schema: {
        tags,
        summary: 'Messages of a session after a position, oldest first',
        params: SessionParams,
        querystring: MessagesQuery,
        response: { 200: Envelope(Type.Array(BusMessage)) },
      },
    },
    async (request, reply) => {
      const { sid } = request.params;
      const { items, pagination } = await bus.history(contextOf(request), sid, request.query.after ?? 0, request.query);
      return sendEnvelope(request, reply, items.map(toBusMessage), { pagination });
    },
  );

  app.get(
    '/api/v1/sessions',
    {
      config: read,
      schema: {
        tags,
        summary: 'Sessions with their head and last activity',
        querystring: SessionsQuery,
        response: { 200: Envelope(Type.Array(Session)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await bus.sessions(contextOf(request), request.query.prefix, request.query);
      return sendEnvelope(request, reply, items.map(toSession), { pagination });
    },
  );

  app.get(
    '/api/v1/sessions/:sid',
    {
      config: read,
      schema: { tags, summary: 'A session: head, purge mark, activity', params: SessionParams, response: { 200: Envelope(Session) } },
    },
    async (request, reply) => sendEnvelope(request, reply, toSession(await bus.session(contextOf(request), request.params.sid))),
  );

  app.delete(
    '/api/v1/sessions/:sid',
    { config: write, schema: { tags, summary: 'Delete a session and its messages', params: SessionParams } },
    async (request, reply) => {
      await bus.deleteSession(contextOf(request), request.params.sid);
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/sessions/:sid/tokens',
    {
      config: read,
      schema: {
        tags,
        summary: 'A short-lived token for the stream and WebSocket of one session (`?token=`, for browsers)',
        params: SessionParams,
        response: { 201: Envelope(SessionToken) },
      },
    },
    async (request, reply) => {
      const { token, expiresIn } = await bus.issueToken(contextOf(request), request.params.sid);
      return sendEnvelope(request, reply, { token, expires_in: expiresIn }, { status: 201 });
    },
  );

  busAdminRoutes(app, bus);
}

/** Channel schemas and retention rules, per session-name prefix. */
function busAdminRoutes(app: LoamApp, bus: BusService): void {
  app.get(
    '/api/v1/bus/schemas',
    { config: read, schema: { tags, summary: 'Channel schemas', response: { 200: Envelope(Type.Array(ChannelSchema)) } } },
    async (request, reply) => {
      const list = await bus.schemas(contextOf(request));
      return sendEnvelope(
        request,
        reply,
        list.map((s) => ({ prefix: s.prefix, schema: s.schema, created_at: rfc3339(s.createdAt) })),
      );
    },
  );

  app.put(
    '/api/v1/bus/schemas/:prefix',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Require messages of sessions named `prefix…` to match a JSON Schema',
        params: PrefixParams,
        body: PutChannelSchema,
        response: { 200: Envelope(ChannelSchema) },
      },
    },
    async (request, reply) => {
      const s = await bus.putSchema(contextOf(request), request.params.prefix, request.body.schema);
      return sendEnvelope(request, reply, { prefix: s.prefix, schema: s.schema, created_at: rfc3339(s.createdAt) });
    },
  );

  app.delete(
    '/api/v1/bus/schemas/:prefix',
    { config: admin, schema: { tags, summary: 'Remove a channel schema', params: PrefixParams } },
    async (request, reply) => {
      await bus.deleteSchema(contextOf(request), request.params.prefix);
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/bus/retention',
    {
      config: read,
      schema: { tags, summary: 'Retention rules (prefix "" is the tenant default)', response: { 200: Envelope(Type.Array(Retention)) } },
    },
    async (request, reply) => {
      const rules = await bus.retention(contextOf(request));
      return sendEnvelope(
        request,
        reply,
        rules.map((r) => ({
          prefix: r.prefix,
          max_age_sec: r.maxAgeMs === null ? null : Math.round(r.maxAgeMs / 1000),
          max_messages: r.maxMessages,
        })),
      );
    },
  );

  app.put(
    '/api/v1/bus/retention/:prefix',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Keep messages of sessions named `prefix…` (`*` = every session) at most this long or this many',
        params: RetentionPrefixParams,
        body: PutRetention,
        response: { 200: Envelope(Retention) },
      },
    },
    async (request, reply) => {
      const prefix = prefixOf(request.params.prefix);
      const maxAgeSec = request.body.max_age_sec ?? null;
      const maxMessages = request.body.max_messages ?? null;
      await bus.putRetention(contextOf(request), { prefix, maxAgeMs: maxAgeSec === null ? null : maxAgeSec * 1000, maxMessages });
      return sendEnvelope(request, reply, { prefix, max_age_sec: maxAgeSec, max_messages: maxMessages });
    },
  );

  app.delete(
    '/api/v1/bus/retention/:prefix',
    { config: admin, schema: { tags, summary: 'Remove a retention rule', params: RetentionPrefixParams } },
    async (request, reply) => {
      await bus.deleteRetention(contextOf(request), prefixOf(request.params.prefix));
      return reply.code(204).send();
    },
  );
}
