import type { FastifyReply } from 'fastify';

export interface SseOptions {
  /** Interval of the `: ping` comments that keep proxies from closing an idle stream. */
  heartbeatMs: number;
  /** A reader with this many bytes queued for its socket is cut off rather than buffered. */
  maxBufferedBytes: number;
  /** The final frame sent to a reader that fell that far behind. */
  slowFrame: string;
  /** Called once when the stream ends, whoever ended it (the client, `end`, a slow reader). */
  onClose(): void;
}

/**
 * A Server-Sent Events response: the headers, the heartbeat, the cut-off of slow readers and one
 * close callback. Shared by every SSE route (session streams, the log tail).
 */
export class SseStream {
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly reply: FastifyReply,
    private readonly opts: SseOptions,
  ) {}

  /** Takes the response over from Fastify and sends the headers; frames may be written from now on. */
  open(): void {
    const res = this.reply.raw;
    this.reply.hijack();
    res.writeHead(200, {
      ...(this.reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.on('close', () => this.finish());
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  get ended(): boolean {
    return this.closed || this.reply.raw.writableEnded;
  }

  /** Writes frames (`event: …\ndata: …\n\n` text); a reader too far behind is cut off. */
  write(text: string): void {
    const res = this.reply.raw;
    if (this.ended) return;
    res.write(text);
    if (res.writableLength > this.opts.maxBufferedBytes) this.end(this.opts.slowFrame);
  }

  /** Ends the stream, after `last` when given. */
  end(last?: string): void {
    const res = this.reply.raw;
    if (!res.writableEnded) res.end(last);
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.opts.onClose();
  }
}

/** One SSE frame. */
export const sseFrame = (event: string, data: string, id?: string | number): string =>
  `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`;
