import type { BusClientFrame, BusServerFrame } from '@loam/api';
import { SessionParams, StreamQuery } from '@loam/api';
import websocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import { toAppError } from '../../platform/http/errors-render.js';
import type { LoamApp } from '../../platform/http/server.js';
import { SLOW_CONSUMER, type SseFrame, type SseOptions, type SseStream, openSse, sseEvent, sseFrame } from '../../platform/http/sse.js';
import type { Subscription } from './hub.js';
import type { BusService } from './service.js';
import type { StoredMessage } from './store.js';
import { Delivery, endFrame, messageJson, startPosition, streamContext, toBusMessage } from './wire.js';

const tags = ['Message bus'];
// Authentication is by header or, for browsers, by a session token in the query: checked in the handler.
const byHeaderOrToken = { auth: 'optional' as const };

/** Heartbeat interval, and how far behind (bytes queued) a subscriber may fall before it is cut off. */
export type StreamOptions = SseOptions;

/** `GET …/stream` (Server-Sent Events) and `GET …/ws` (WebSocket): the same subscription, two wires. */
export async function busStreamRoutes(app: LoamApp, bus: BusService, opts: StreamOptions): Promise<void> {
  app.get(
    '/api/v1/sessions/:sid/stream',
    {
      config: byHeaderOrToken,
      schema: {
        tags,
        summary: 'Subscribe (SSE): `ready` once live, then every message after `after` / Last-Event-ID, then live ones',
        params: SessionParams,
        querystring: StreamQuery,
      },
    },
    async (request, reply) => {
      const { sid } = request.params;
      const ctx = streamContext(request, bus, sid, request.query.token, ['bus:read']);
      const after = startPosition(request, request.query.after);
      let sse: SseStream | undefined;
      const delivery = new Delivery(
        (batch) => sse?.writeFrame(sseBatch(batch)),
        (err) => {
          const { op: _op, ...frame } = endFrame(err);
          sse?.fail(frame);
        },
      );
      const subscription = await bus.subscribe(ctx, sid, after, delivery);
      sse = openSse(reply, opts);
      sse.onEnd(() => subscription.close());
      sse.write(sseEvent('ready', JSON.stringify({ session_id: sid, head: subscription.head, after })));
      delivery.started();
    },
  );

  await app.register(websocket, { options: { maxPayload: 4 * 1024 * 1024 } });
  app.get(
    '/api/v1/sessions/:sid/ws',
    {
      websocket: true,
      config: byHeaderOrToken,
      schema: {
        tags,
        summary: 'Subscribe and send on one WebSocket: `ready`, then messages; send frames `{op:"send", type?, data}`',
        params: SessionParams,
        querystring: StreamQuery,
      },
    },
    (socket: WebSocket, request) => {
      const { sid } = request.params as SessionParams;
      const query = request.query as StreamQuery;
      const send = (frame: BusServerFrame | Buffer) => {
        if (socket.readyState !== socket.OPEN) return;
        // A prepared frame is UTF-8 JSON text: sent as a text frame, without encoding it again.
        if (Buffer.isBuffer(frame)) socket.send(frame, { binary: false });
        else socket.send(JSON.stringify(frame));
        if (socket.bufferedAmount > opts.maxBufferedBytes) {
          socket.send(JSON.stringify({ op: 'error', ...SLOW_CONSUMER }));
          socket.close(1008, 'slow consumer');
        }
      };
      let subscription: Subscription | undefined;
      let alive = true;
      const ping = setInterval(() => {
        if (!alive) return socket.terminate();
        alive = false;
        socket.ping();
      }, opts.heartbeatMs);
      socket.on('pong', () => {
        alive = true;
      });
      socket.on('close', () => {
        clearInterval(ping);
        subscription?.close();
      });
      const fail = (err: unknown, ref?: string) => {
        const { appError } = toAppError(err);
        send({ op: 'error', ref, status: appError.status, code: appError.code, detail: appError.detail, ...appError.extra });
      };
      let ctx: ReturnType<typeof streamContext>;
      try {
        ctx = streamContext(request, bus, sid, query.token, ['bus:read']);
      } catch (err) {
        fail(err);
        socket.close(1008, 'unauthorized');
        return;
      }
      socket.on('message', (raw) => {
        let frame: BusClientFrame;
        try {
          frame = JSON.parse(String(raw)) as BusClientFrame;
        } catch {
          return fail(new SyntaxError('A frame is not JSON'));
        }
        if (frame?.op !== 'send') return send({ op: 'error', ref: frame?.ref, status: 400, code: 'invalid_request', detail: 'Unknown op' });
        bus
          .send(ctx, sid, [{ type: frame.type, data: frame.data }])
          .then((stored) => send({ op: 'ack', ref: frame.ref, messages: stored.map(toBusMessage) }))
          .catch((err) => fail(err, frame.ref));
      });
      const after = startPosition(request, query.after);
      const delivery = new Delivery(
        (batch) => {
          for (const frame of wsFrames(batch)) send(frame);
        },
        (err) => {
          send(endFrame(err));
          socket.close(1011, 'subscription ended');
        },
      );
      bus.subscribe(ctx, sid, after, delivery).then(
        (sub) => {
          subscription = sub;
          if (socket.readyState !== socket.OPEN) return sub.close();
          send({ op: 'ready', session_id: sid, head: sub.head, after });
          delivery.started();
        },
        (err) => {
          fail(err);
          socket.close(1008, 'subscription refused');
        },
      );
    },
  );
}

/**
 * The WebSocket messages of a batch, encoded (UTF-8) once per batch: every caught-up subscriber is
 * handed the same array, and each socket the same buffers.
 */
const wsText = new WeakMap<StoredMessage[], Buffer[]>();
function wsFrames(batch: StoredMessage[]): Buffer[] {
  let frames = wsText.get(batch);
  if (frames === undefined) {
    frames = batch.map((m) => Buffer.from(`{"op":"message","message":${messageJson(m)}}`, 'utf8'));
    wsText.set(batch, frames);
  }
  return frames;
}

/** The SSE events of a batch, encoded once per batch like its WebSocket frames. */
const sseFrames = new WeakMap<StoredMessage[], SseFrame>();
function sseBatch(batch: StoredMessage[]): SseFrame {
  let frame = sseFrames.get(batch);
  if (frame === undefined) {
    let out = '';
    for (const m of batch) out += sseEvent('message', messageJson(m), String(m.position));
    frame = sseFrame(out);
    sseFrames.set(batch, frame);
  }
  return frame;
}
