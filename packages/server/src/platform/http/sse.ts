import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Server-Sent Events, shared by every stream (message bus, event log): headers, heartbeat
 * comments, and the backpressure rule that a reader too far behind is cut off with a final
 * `error` event instead of the server buffering for it.
 */
export interface SseOptions {
  /** Interval of `: ping` comments (keeps proxies from closing an idle stream). */
  heartbeatMs: number;
  /** A reader whose socket has this many bytes queued is cut off (with an `error` event). */
  maxBufferedBytes: number;
}

export interface SseStream {
  /** Writes raw SSE text (one or more complete events); ignored once the stream ended. */
  write(text: string): void;
  /** Writes events prepared once for many readers ({@link sseFrame}); ignored once the stream ended. */
  writeFrame(frame: SseFrame): void;
  /** Ends the stream with a final `event: error` carrying `frame` as its data. */
  fail(frame: Record<string, unknown>): void;
  readonly ended: boolean;
  /** Called once when the stream ends, whoever ended it (client gone, failure, slow reader). */
  onEnd(fn: () => void): void;
}

/** The final frame of a reader that fell too far behind. */
export const SLOW_CONSUMER = { status: 429, code: 'slow_consumer', detail: 'The subscriber fell too far behind' } as const;

/** One SSE event: `id:` (when given), `event:`, and the data line (JSON text, no newlines). */
export function sseEvent(event: string, data: string, id?: string): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${data}\n\n`;
}

/**
 * SSE text encoded once for every reader of a fan-out: its bytes, and the same bytes framed as
 * one HTTP/1.1 chunk (`<hex length>\r\n…\r\n`), which a chunked response's socket is handed as
 * they are (one buffer and one write per reader, no per-reader encoding or chunk framing).
 */
export interface SseFrame {
  readonly body: Buffer;
  readonly chunk: Buffer;
}

export function sseFrame(text: string): SseFrame {
  const body = Buffer.from(text, 'utf8');
  const head = `${body.length.toString(16)}\r\n`;
  const chunk = Buffer.allocUnsafe(head.length + body.length + 2);
  chunk.write(head, 0, 'latin1');
  body.copy(chunk, head.length);
  chunk.write('\r\n', head.length + body.length, 'latin1');
  return { body, chunk };
}

/** The `Last-Event-ID` a reconnecting client sent, if any. */
export function lastEventId(request: FastifyRequest): string | undefined {
  const v = request.headers['last-event-id'];
  return typeof v === 'string' && v.length > 0 && v.length <= 128 ? v : undefined;
}

/** Takes the reply over and starts an SSE stream on it (200, `text/event-stream`). */
export function openSse(reply: FastifyReply, opts: SseOptions): SseStream {
  const res = reply.raw;
  const listeners: (() => void)[] = [];
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    for (const fn of listeners) fn();
  };
  reply.hijack();
  res.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.on('close', finish);
  // A reader this far behind would make the server hold its backlog: it is cut off instead.
  const checkBacklog = () => {
    if (res.writableLength > opts.maxBufferedBytes) stream.fail(SLOW_CONSUMER);
  };
  const stream: SseStream = {
    write(text) {
      if (ended || res.writableEnded) return;
      res.write(text);
      checkBacklog();
    },
    writeFrame(frame) {
      if (ended || res.writableEnded) return;
      const socket = res.socket;
      // The prepared chunk goes straight to the socket when the response is chunked, its head is
      // out, the socket is its own (not queued behind a pipelined one) and the response holds
      // nothing back itself (its writableLength is the socket's): byte for byte what res.write
      // would send, without re-encoding and framing it for each reader.
      if (socket?.writable && res.headersSent && res.chunkedEncoding && res.writableLength === socket.writableLength)
        socket.write(frame.chunk);
      else res.write(frame.body);
      checkBacklog();
    },
    fail(frame) {
      if (ended || res.writableEnded) return finish();
      res.end(sseEvent('error', JSON.stringify(frame)));
      finish();
    },
    get ended() {
      return ended;
    },
    onEnd(fn) {
      if (ended) fn();
      else listeners.push(fn);
    },
  };
  const heartbeat = setInterval(() => stream.write(': ping\n\n'), opts.heartbeatMs);
  heartbeat.unref();
  return stream;
}
