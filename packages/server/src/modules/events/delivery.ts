import { eventTypeSpec } from '@loam/api';
import { Agent, request } from 'undici';
import { fromJson } from '../../platform/db/index.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { FetchError, checkedLookup, checkedTarget, parseFetchUrl } from '../../platform/fetch/index.js';
import type { Platform } from '../../platform/module.js';
import { toCloudEventJson } from './service.js';
import { signatureHeaders } from './signing.js';
import type { DeliveryRow, WebhookRow } from './webhook-store.js';

/** What one HTTP attempt came to. */
export interface Outcome {
  status: number | null;
  latencyMs: number;
  response: string | null;
  error: string | null;
}

const RESPONSE_KEEP_BYTES = 1024;
/** An answer longer than this is not read further (the connection is dropped instead of drained). */
const RESPONSE_DRAIN_BYTES = 64 * 1024;
const USER_AGENT = 'Loam-Webhooks/0.1 (+https://loam.dev)';

/** The request body of a delivery, in the endpoint's format. */
export function deliveryBody(
  hook: Pick<WebhookRow, 'id' | 'format'>,
  deliveryId: string,
  event: CloudEvent,
): { body: string; contentType: string } {
  if (hook.format === 'llm-vault') {
    const spec = eventTypeSpec(event.type);
    return {
      contentType: 'application/json',
      body: JSON.stringify({
        event: { type: spec?.seedName ?? spec?.name ?? event.type, id: event.id, timestamp: event.time },
        data: event.data,
        webhook: { id: hook.id, delivery_id: deliveryId },
      }),
    };
  }
  return { contentType: 'application/cloudevents+json', body: JSON.stringify(toCloudEventJson(event)) };
}

/** The first `keep` bytes of an answer, reading at most RESPONSE_DRAIN_BYTES (so the connection can be reused). */
async function readHead(body: AsyncIterable<Buffer> & { destroy(): void }, keep: number): Promise<string> {
  const chunks: Buffer[] = [];
  let kept = 0;
  let read = 0;
  for await (const chunk of body) {
    if (kept < keep) {
      chunks.push(chunk.subarray(0, keep - kept));
      kept += Math.min(chunk.length, keep - kept);
    }
    read += chunk.length;
    if (read > RESPONSE_DRAIN_BYTES) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Sends one attempt of a delivery, signed twice (Standard Webhooks and the seed's headers), over
 * keep-alive connections (one undici pool per endpoint origin). SSRF protection as `safeFetch`:
 * every new connection resolves and checks its host and connects to the address it checked; a
 * host that is an IP literal is checked before each request. Redirects are not followed.
 */
export class WebhookSender {
  private readonly agent: Agent;

  constructor(
    private readonly platform: Platform,
    private readonly secretsOf: (hook: WebhookRow) => string[],
  ) {
    const config = platform.config;
    this.agent = new Agent({
      keepAliveTimeout: 4_000,
      connect: { lookup: checkedLookup(() => ({ allowPrivate: config.webhookAllowPrivateTargets })) },
    });
  }

  async send(hook: WebhookRow, delivery: DeliveryRow, signal: AbortSignal): Promise<Outcome> {
    const event = fromJson<CloudEvent>(delivery.event);
    const { body, contentType } = deliveryBody(hook, delivery.id, event);
    const timestamp = Math.floor(this.platform.clock.now() / 1000);
    const config = this.platform.config;
    const t0 = performance.now();
    const timeout = AbortSignal.timeout(config.webhookTimeoutMs);
    try {
      const url = parseFetchUrl(hook.url);
      checkedTarget(url, { allowPrivate: config.webhookAllowPrivateTargets });
      const res = await request(url, {
        dispatcher: this.agent,
        method: 'POST',
        headers: {
          'content-type': contentType,
          'user-agent': USER_AGENT,
          ...signatureHeaders(this.secretsOf(hook), { msgId: delivery.id, timestamp, body, eventType: event.type }),
        },
        body,
        maxRedirections: 0,
        signal: AbortSignal.any([signal, timeout]),
      });
      const response = await readHead(res.body, RESPONSE_KEEP_BYTES);
      return { status: res.statusCode, latencyMs: Math.round(performance.now() - t0), response, error: null };
    } catch (err) {
      const message =
        err instanceof FetchError
          ? `${err.code}: ${err.message}`
          : timeout.aborted
            ? 'timeout: The server did not answer in time'
            : `network_error: ${(err as Error).message}`;
      return { status: null, latencyMs: Math.round(performance.now() - t0), response: null, error: message.slice(0, 500) };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
