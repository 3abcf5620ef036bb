import type { BusMessage, ChannelSchema, EnvelopeOf, Retention, SendMessage, Session, SessionToken } from '@loam/api';
import { type APIPromise, APIResource, type RequestOptions, backoffDelay, dataOf, path } from '../core.js';
import { APIConnectionError, APIError, APIUserAbortError } from '../errors.js';
import { parseSSE, pause, safeJSON } from '../streaming.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'idempotencyKey'>;

/** A message whose `data` has the type the sender and receiver agreed on. */
export type TypedMessage<T> = Omit<BusMessage, 'data'> & { data: T };

export interface SubscribeOptions<T> {
  /** Start after this position (0 = the first message); later reconnects resume after the last delivered one. */
  after?: number;
  /** Stops the subscription: `subscribe` then resolves. */
  signal?: AbortSignal;
  /** The subscription is live: nothing sent from now on can be missed. Called on each (re)connect. */
  onStarted?: (info: { head: number; after: number; reconnected: boolean }) => void;
  /** Each message once, in position order (awaited before the next). */
  onMessage: (message: TypedMessage<T>) => void | Promise<void>;
  /** A connection failed and will be retried (network errors, 5xx, 429); other errors end the subscription. */
  onReconnect?: (err: Error, attempt: number) => void;
}

/** Session messages (`/api/v1/sessions`): send, history, subscriptions over SSE that resume by themselves. */
export class Sessions extends APIResource {
  /**
   * Sends one message or a batch (consecutive positions); returns them as stored.
   * @example const [m] = await loam.sessions.send('support:42', { type: 'question', data: { text: 'Hi' } });
   */
  async send(sessionId: string, messages: SendMessage | SendMessage[], options: Opts = {}): Promise<BusMessage[]> {
    const sent = await dataOf(
      this.client.request<EnvelopeOf<{ messages: BusMessage[] }>>('POST', path`/api/v1/sessions/${sessionId}/messages`, {
        ...options,
        body: messages,
      }),
    );
    return sent.messages;
  }

  /** One page of history after `after`. @example await loam.sessions.messages('support:42', { after: 0, limit: 100 }) */
  messages(sessionId: string, query: { after?: number; limit?: number } = {}, options: Opts = {}): APIPromise<BusMessage[]> {
    return dataOf(
      this.client.request<EnvelopeOf<BusMessage[]>>('GET', path`/api/v1/sessions/${sessionId}/messages`, { ...options, query }),
    );
  }

  /** Every message after `after`, page by page. @example for await (const m of loam.sessions.history('s', { after: 0 })) … */
  async *history(sessionId: string, query: { after?: number; pageSize?: number } = {}, options: Opts = {}): AsyncGenerator<BusMessage> {
    let after = query.after ?? 0;
    const limit = query.pageSize ?? 500;
    for (;;) {
      const page = await this.messages(sessionId, { after, limit }, options);
      yield* page;
      if (page.length < limit) return;
      after = page[page.length - 1].position;
    }
  }

  /** @example await loam.sessions.list({ prefix: 'support:' }) */
  list(query: { prefix?: string; limit?: number; cursor?: string } = {}, options: Opts = {}): APIPromise<Session[]> {
    return dataOf(this.client.request<EnvelopeOf<Session[]>>('GET', '/api/v1/sessions', { ...options, query }));
  }

  get(sessionId: string, options: Opts = {}): APIPromise<Session> {
    return dataOf(this.client.request<EnvelopeOf<Session>>('GET', path`/api/v1/sessions/${sessionId}`, options));
  }

  async delete(sessionId: string, options: Opts = {}): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/sessions/${sessionId}`, options);
  }

  /** A short-lived token for a browser's EventSource or WebSocket (`?token=`). */
  token(sessionId: string, options: Opts = {}): APIPromise<SessionToken> {
    return dataOf(this.client.request<EnvelopeOf<SessionToken>>('POST', path`/api/v1/sessions/${sessionId}/tokens`, options));
  }

  /**
   * Subscribes until `signal` aborts: `onStarted` once live, then every message after `after`, then
   * live ones. A dropped connection is resumed after the last delivered position, so `onMessage`
   * sees each message once, in order. Rejects on errors a retry cannot fix (401, 403, 404, 410).
   */
  async subscribe<T = unknown>(sessionId: string, opts: SubscribeOptions<T>): Promise<void> {
    let last = opts.after ?? 0;
    let attempt = 0;
    let reconnected = false;
    while (!opts.signal?.aborted) {
      try {
        const response = await this.client.requestResponse('GET', path`/api/v1/sessions/${sessionId}/stream`, {
          query: { after: last },
          headers: { accept: 'text/event-stream' },
          signal: opts.signal,
          maxRetries: 0,
        });
        if (!response.body) throw new APIConnectionError('The stream has no body');
        for await (const event of parseSSE(response.body)) {
          if (event.event === 'ready') {
            attempt = 0;
            const ready = safeJSON(event.data) as { head: number; after: number };
            opts.onStarted?.({ head: ready.head, after: ready.after, reconnected });
          } else if (event.event === 'message') {
            const message = JSON.parse(event.data) as TypedMessage<T>;
            if (message.position <= last) continue;
            await opts.onMessage(message);
            last = message.position;
          } else if (event.event === 'error') {
            const body = safeJSON(event.data) as Record<string, unknown>;
            throw APIError.from(Number(body?.status) || 500, body, response.headers);
          }
        }
        throw new APIConnectionError('The stream ended');
      } catch (err) {
        if (opts.signal?.aborted || err instanceof APIUserAbortError) return;
        if (err instanceof APIError && err.status < 500 && err.status !== 429) throw err;
        attempt++;
        reconnected = true;
        opts.onReconnect?.(err as Error, attempt);
        await pause(Math.min(backoffDelay(Math.min(attempt, 6)), 10_000), opts.signal);
      }
    }
  }

  // ---- channel schemas and retention ------------------------------------------------------------

  schemas(options: Opts = {}): APIPromise<ChannelSchema[]> {
    return dataOf(this.client.request<EnvelopeOf<ChannelSchema[]>>('GET', '/api/v1/bus/schemas', options));
  }

  putSchema(prefix: string, schema: Record<string, unknown>, options: Opts = {}): APIPromise<ChannelSchema> {
    return dataOf(
      this.client.request<EnvelopeOf<ChannelSchema>>('PUT', path`/api/v1/bus/schemas/${prefix}`, { ...options, body: { schema } }),
    );
  }

  async deleteSchema(prefix: string, options: Opts = {}): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/bus/schemas/${prefix}`, options);
  }

  retention(options: Opts = {}): APIPromise<Retention[]> {
    return dataOf(this.client.request<EnvelopeOf<Retention[]>>('GET', '/api/v1/bus/retention', options));
  }

  /** `prefix` `*` is the tenant-wide default. */
  putRetention(
    prefix: string,
    rule: { max_age_sec?: number | null; max_messages?: number | null },
    options: Opts = {},
  ): APIPromise<Retention> {
    return dataOf(this.client.request<EnvelopeOf<Retention>>('PUT', path`/api/v1/bus/retention/${prefix}`, { ...options, body: rule }));
  }

  async deleteRetention(prefix: string, options: Opts = {}): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/bus/retention/${prefix}`, options);
  }
}

/**
 * The Integrail-style broker over a session: `send` a typed event, `onMessage` to receive them.
 * @example
 * const bus = loam.bus<{ text: string }>();
 * await bus.onMessage('chat:1', { onStarted: () => bus.send('chat:1', { text: 'hi' }), onMessage: (m) => console.log(m.data.text), signal });
 */
export interface Broker<T> {
  send(sessionId: string, evt: T, options?: Opts & { type?: string }): Promise<TypedMessage<T>>;
  onMessage(sessionId: string, opts: SubscribeOptions<T>): Promise<void>;
}

export function broker<T>(sessions: Sessions): Broker<T> {
  return {
    async send(sessionId, evt, options = {}) {
      const { type, ...rest } = options;
      const [m] = await sessions.send(sessionId, { ...(type ? { type } : {}), data: evt }, rest);
      return m as TypedMessage<T>;
    },
    onMessage: (sessionId, opts) => sessions.subscribe<T>(sessionId, opts),
  };
}
