import type {
  CloudEventJson,
  CreateWebhook,
  EnvelopeOf,
  EventType,
  ReplayResult,
  RotateWebhookSecret,
  UpdateWebhook,
  Webhook,
  WebhookDelivery,
} from '@loam/api';
import { APIResource, type RequestOptions, backoffDelay, dataOf, path } from '../core.js';
import { APIConnectionError, APIError, APIUserAbortError } from '../errors.js';
import { type PagePromise, cursorList } from '../pagination.js';
import { parseSSE, pause, safeJSON } from '../streaming.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'idempotencyKey'>;

/** Filters of the event log: `type` patterns with `*` (`dataset.*`), an exact subject, a time range. */
export interface EventFilter {
  type?: string | string[];
  subject?: string;
  since?: string;
  until?: string;
}

export interface EventStreamOptions extends Omit<EventFilter, 'until'> {
  /** Start after this position (an event's `position`); later reconnects resume after the last one yielded. */
  after?: string;
  signal?: AbortSignal;
  /** A connection failed and will be retried (network errors, 5xx, 429). */
  onReconnect?: (err: Error, attempt: number) => void;
}

const typeParam = (t: string | string[] | undefined) => (Array.isArray(t) ? t.join(',') : t);

/** The event log (`/api/v1/events`): the catalogue, lists that page by themselves, and a resuming stream. */
export class Events extends APIResource {
  /** Every event type with its data schema, version and retention. */
  types(options: Opts = {}): Promise<EventType[]> {
    return dataOf(this.client.request<EnvelopeOf<EventType[]>>('GET', '/api/v1/events/types', options));
  }

  /**
   * The tenant's events in log order; iterate to page through all of them.
   * @example for await (const e of loam.events.list({ type: 'dataset.*' })) console.log(e.type)
   */
  list(filter: EventFilter & { limit?: number } = {}): PagePromise<CloudEventJson> {
    const { type, ...rest } = filter;
    return cursorList(this.client, '/api/v1/events', { ...rest, ...(type ? { type: typeParam(type) } : {}) });
  }

  get(id: string, options: Opts = {}): Promise<CloudEventJson> {
    return dataOf(this.client.request<EnvelopeOf<CloudEventJson>>('GET', path`/api/v1/events/${id}`, options));
  }

  /**
   * The live stream as an async iterator, until `signal` aborts or the loop breaks. Without
   * `after` or `since` it starts with events committed from now on. A dropped connection is
   * resumed after the last yielded position (Last-Event-ID), so each event comes once, in order.
   * @example for await (const e of loam.events.stream({ type: 'record.*', signal })) handle(e)
   */
  stream(opts: EventStreamOptions = {}): AsyncGenerator<CloudEventJson> {
    return this.follow(opts);
  }

  private async *follow(opts: EventStreamOptions): AsyncGenerator<CloudEventJson> {
    let last = opts.after;
    let attempt = 0;
    while (!opts.signal?.aborted) {
      try {
        const query: Record<string, string> = {};
        if (opts.type) query.type = typeParam(opts.type) as string;
        if (opts.subject) query.subject = opts.subject;
        if (opts.since) query.since = opts.since;
        const response = await this.client.requestResponse('GET', '/api/v1/events/stream', {
          query,
          headers: { accept: 'text/event-stream', ...(last !== undefined ? { 'last-event-id': last } : {}) },
          signal: opts.signal,
          maxRetries: 0,
        });
        if (!response.body) throw new APIConnectionError('The stream has no body');
        attempt = 0;
        for await (const event of parseSSE(response.body)) {
          if (event.event === 'ready') {
            // Live from here: a reconnect resumes after this position at least.
            last = last ?? event.id;
            continue;
          }
          if (event.event === 'error') {
            const body = safeJSON(event.data) as Record<string, unknown>;
            throw APIError.from(Number(body?.status) || 500, body, response.headers);
          }
          if (!event.data) continue;
          const ce = JSON.parse(event.data) as CloudEventJson;
          last = event.id ?? ce.position ?? last;
          yield ce;
        }
        throw new APIConnectionError('The stream ended');
      } catch (err) {
        if (opts.signal?.aborted || err instanceof APIUserAbortError) return;
        if (err instanceof APIError && err.status < 500 && err.status !== 429) throw err;
        attempt++;
        opts.onReconnect?.(err as Error, attempt);
        await pause(Math.min(backoffDelay(Math.min(attempt, 6)), 10_000), opts.signal);
      }
    }
  }
}

/** Webhook endpoints (`/api/v1/webhooks`): verify what they receive with `verifyWebhook`. */
export class Webhooks extends APIResource {
  /** Creates an endpoint; the answer's `secret` (whsec_…) is shown only this once. */
  create(body: CreateWebhook, options: Opts = {}): Promise<Webhook> {
    return dataOf(this.client.request<EnvelopeOf<Webhook>>('POST', '/api/v1/webhooks', { ...options, body }));
  }

  list(query: { limit?: number } = {}): PagePromise<Webhook> {
    return cursorList(this.client, '/api/v1/webhooks', { ...query });
  }

  get(id: string, options: Opts = {}): Promise<Webhook> {
    return dataOf(this.client.request<EnvelopeOf<Webhook>>('GET', path`/api/v1/webhooks/${id}`, options));
  }

  update(id: string, body: UpdateWebhook, options: Opts = {}): Promise<Webhook> {
    return dataOf(this.client.request<EnvelopeOf<Webhook>>('PATCH', path`/api/v1/webhooks/${id}`, { ...options, body }));
  }

  async delete(id: string, options: Opts = {}): Promise<void> {
    await this.client.request('DELETE', path`/api/v1/webhooks/${id}`, options);
  }

  /** A new secret (shown once); the old one also signs for `grace_period_seconds` (default a day). */
  rotateSecret(id: string, body: RotateWebhookSecret = {}, options: Opts = {}): Promise<Webhook> {
    return dataOf(this.client.request<EnvelopeOf<Webhook>>('POST', path`/api/v1/webhooks/${id}/rotate-secret`, { ...options, body }));
  }

  /** Deliveries, newest first, with their attempts; `status: 'failed'` is the dead-letter list. */
  deliveries(id: string, query: { status?: 'pending' | 'succeeded' | 'failed'; limit?: number } = {}): PagePromise<WebhookDelivery> {
    return cursorList(this.client, `/api/v1/webhooks/${encodeURIComponent(id)}/deliveries`, { ...query });
  }

  retryDelivery(id: string, deliveryId: string, options: Opts = {}): Promise<WebhookDelivery> {
    return dataOf(
      this.client.request<EnvelopeOf<WebhookDelivery>>('POST', path`/api/v1/webhooks/${id}/deliveries/${deliveryId}/retry`, options),
    );
  }

  /** Sends the endpoint's events since `since` again (new deliveries). */
  replay(id: string, body: { since: string; until?: string }, options: Opts = {}): Promise<ReplayResult> {
    return dataOf(this.client.request<EnvelopeOf<ReplayResult>>('POST', path`/api/v1/webhooks/${id}/replay`, { ...options, body }));
  }

  /** Sends a `webhook.test` event. */
  test(id: string, options: Opts = {}): Promise<WebhookDelivery> {
    return dataOf(this.client.request<EnvelopeOf<WebhookDelivery>>('POST', path`/api/v1/webhooks/${id}/test`, options));
  }
}
