import { APIError, APIUserAbortError } from './errors.js';

/** One Server-Sent Event. */
export interface ServerSentEvent {
  event?: string;
  data: string;
  id?: string;
}

/** Parses an SSE byte stream (per the WHATWG spec: `\n`, `\r\n` or `\r` line ends, comments ignored). */
export async function* parseSSE(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const reader = body.pipeThrough(new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>).getReader();
  let buffer = '';
  let event: ServerSentEvent = { data: '' };
  let hasData = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      // A trailing lone '\r' may be half of '\r\n': wait for the next chunk before splitting on it.
      for (let end = lineEnd(buffer); end >= 0; end = lineEnd(buffer)) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1);
        if (line === '') {
          if (hasData) yield event;
          event = { data: '' };
          hasData = false;
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          event.data = hasData ? `${event.data}\n${val}` : val;
          hasData = true;
        } else if (field === 'event') event.event = val;
        else if (field === 'id') event.id = val;
      }
    }
    if (hasData) yield event;
  } finally {
    reader.releaseLock();
  }
}

function lineEnd(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\n') return i;
    if (s[i] === '\r') return i + 1 < s.length ? i : -1;
  }
  return -1;
}

/**
 * A stream of parsed events: iterate it with `for await`. The request starts on the first
 * iteration; `abort()` (or the `signal` given to the call) stops it, and so does leaving the loop.
 */
export class Stream<T> implements AsyncIterable<T> {
  readonly controller = new AbortController();
  private started = false;

  constructor(
    private readonly open: (signal: AbortSignal) => Promise<Response>,
    private readonly decode: (event: ServerSentEvent) => T | undefined,
    signal?: AbortSignal,
  ) {
    if (signal) {
      if (signal.aborted) this.controller.abort();
      else signal.addEventListener('abort', () => this.controller.abort(), { once: true });
    }
  }

  /** Stops the stream; a running `for await` ends with an {@link APIUserAbortError}. */
  abort(): void {
    this.controller.abort();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    if (this.started) throw new Error('A Stream can be iterated only once');
    this.started = true;
    const response = await this.open(this.controller.signal);
    if (!response.body) return;
    try {
      for await (const event of parseSSE(response.body)) {
        if (event.data === '[DONE]') return;
        if (event.event === 'error') {
          const parsed = safeJSON(event.data) as Record<string, unknown> | undefined;
          throw APIError.from(Number(parsed?.status) || 500, parsed ?? event.data, response.headers);
        }
        const value = this.decode(event);
        if (value !== undefined) yield value;
      }
    } catch (err) {
      if (this.controller.signal.aborted) throw new APIUserAbortError('Stream was aborted', { cause: err });
      throw err;
    } finally {
      // Leaving the loop early (break, return, throw) closes the connection.
      if (!this.controller.signal.aborted) this.controller.abort();
    }
  }
}

export function safeJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Waits `ms`, or less when `signal` aborts (resolving, never rejecting): the pause between reconnects of a resuming stream. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
