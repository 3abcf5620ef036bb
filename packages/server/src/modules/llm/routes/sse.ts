import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';

/**
 * Aborts when the client goes away before the answer is complete (so the upstream call is
 * cancelled). The response's `close` tells a disconnect from a finished reply.
 */
export function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** An event stream on `reply`: `data` lines as given, a comment every `heartbeatMs` so proxies keep it open. */
export function openEventStream(reply: FastifyReply, heartbeatMs: number) {
  const out = new PassThrough();
  const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), heartbeatMs);
  reply
    .code(200)
    .header('content-type', 'text/event-stream; charset=utf-8')
    .header('cache-control', 'no-cache, no-transform')
    .header('x-accel-buffering', 'no');
  return {
    body: out,
    data(value: unknown) {
      out.write(`data: ${typeof value === 'string' ? value : JSON.stringify(value)}\n\n`);
    },
    end() {
      clearInterval(heartbeat);
      out.end();
    },
  };
}
