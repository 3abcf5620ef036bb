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
  const stream: SseStream = {
    write(text) {
      if (ended || res.writableEnded) return;
      res.write(text);
      // A reader this far behind would make the server hold its backlog: it is cut off instead.
      if (res.writableLength > opts.maxBufferedBytes) stream.fail(SLOW_CONSUMER);
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
