import { DEFAULT_RETRY_SCHEDULE_SECONDS, eventTypeSpec } from '@loam/api';
import type { Executor } from '../../platform/db/index.js';
import { fromJson } from '../../platform/db/index.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { FetchError, safeFetch } from '../../platform/fetch/index.js';
import type { JobContext } from '../../platform/jobs/queue.js';
import type { Platform } from '../../platform/module.js';
import { toCloudEventJson } from './service.js';
import { signatureHeaders } from './signing.js';
import type { DeliveryRow, WebhookRow, WebhookStore } from './webhook-store.js';

export const DELIVER_JOB = 'webhook.deliver';
export interface DeliverPayload {
  deliveryId: string;
  tenantId: string;
}

/** What one HTTP attempt came to. */
interface Outcome {
  status: number | null;
  latencyMs: number;
  response: string | null;
  error: string | null;
}

const RESPONSE_KEEP_BYTES = 1024;
/** A delivery waiting for a free slot of its endpoint's concurrency looks again after this. */
const BUSY_RETRY_MS = 50;

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

/**
 * Runs `webhook.deliver` jobs: one HTTP attempt each, signed twice (Standard Webhooks and the
 * seed's headers), then, in one transaction with the job's completion, the attempt's record, the
 * delivery's new state, the endpoint's failure count, and the next attempt's job when the
 * schedule has one left. A crash anywhere before that commit leaves the job to be run again: at
 * least once.
 */
export class WebhookDeliverer {
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly platform: Platform,
    private readonly store: WebhookStore,
    private readonly secretsOf: (hook: WebhookRow) => string[],
  ) {}

  run = async ({ job, complete, signal }: JobContext<DeliverPayload>): Promise<unknown> => {
    const { deliveryId, tenantId } = job.payload;
    const db = this.platform.database.db;
    const delivery = await this.store.delivery(db, tenantId, deliveryId);
    if (!delivery || delivery.status !== 'pending') return { skipped: true };
    const hook = await this.store.find(db, tenantId, delivery.webhook_id);
    if (!hook) return { skipped: true };
    if (!hook.active && delivery.kind !== 'test') {
      await this.platform.transaction(async (tx) => {
        await this.store.updateDelivery(tx, tenantId, deliveryId, {
          status: 'failed',
          next_attempt_at: null,
          updated_at: this.platform.clock.now(),
        });
        await complete(tx, { disabled: true });
      });
      return;
    }
    const busy = this.inFlight.get(hook.id) ?? 0;
    if (busy >= hook.concurrency) {
      await this.platform.transaction(async (tx) => {
        await this.platform.jobs.enqueue(tx, DELIVER_JOB, job.payload, { tenantId, runAt: this.platform.clock.now() + BUSY_RETRY_MS });
        await complete(tx, { busy: true });
      });
      return;
    }
    this.inFlight.set(hook.id, busy + 1);
    let outcome: Outcome;
    const startedAt = this.platform.clock.now();
    try {
      outcome = await this.attempt(hook, delivery, signal);
    } finally {
      const n = (this.inFlight.get(hook.id) ?? 1) - 1;
      if (n <= 0) this.inFlight.delete(hook.id);
      else this.inFlight.set(hook.id, n);
    }
    await this.platform.transaction(async (tx) => {
      await this.record(tx, hook, delivery, startedAt, outcome);
      await complete(tx, { status: outcome.status });
    });
  };

  private async attempt(hook: WebhookRow, delivery: DeliveryRow, signal: AbortSignal): Promise<Outcome> {
    const event = fromJson<CloudEvent>(delivery.event);
    const { body, contentType } = deliveryBody(hook, delivery.id, event);
    const timestamp = Math.floor(this.platform.clock.now() / 1000);
    const headers = {
      'content-type': contentType,
      ...signatureHeaders(this.secretsOf(hook), { msgId: delivery.id, timestamp, body, eventType: event.type }),
    };
    const config = this.platform.config;
    const t0 = performance.now();
    try {
      const res = await safeFetch(hook.url, {
        method: 'POST',
        headers,
        body,
        timeoutMs: config.webhookTimeoutMs,
        followRedirects: false,
        acceptAnyStatus: true,
        keepBytes: RESPONSE_KEEP_BYTES,
        allowPrivate: config.webhookAllowPrivateTargets,
        signal,
        userAgent: 'Loam-Webhooks/0.1 (+https://loam.dev)',
      });
      return {
        status: res.status,
        latencyMs: Math.round(performance.now() - t0),
        response: res.body.subarray(0, RESPONSE_KEEP_BYTES).toString('utf8'),
        error: null,
      };
    } catch (err) {
      const message = err instanceof FetchError ? `${err.code}: ${err.message}` : (err as Error).message;
      return { status: null, latencyMs: Math.round(performance.now() - t0), response: null, error: message.slice(0, 500) };
    }
  }

  /** The attempt's consequences, in the transaction that completes the job. */
  private async record(tx: Executor, hook: WebhookRow, delivery: DeliveryRow, startedAt: number, o: Outcome): Promise<void> {
    const now = this.platform.clock.now();
    const attempt = delivery.attempts + 1;
    const tenantId = hook.tenant_id;
    await this.store.insertAttempt(tx, {
      delivery_id: delivery.id,
      tenant_id: tenantId,
      attempt,
      started_at: startedAt,
      status_code: o.status,
      latency_ms: o.latencyMs,
      response: o.response,
      error: o.error,
    });
    const ok = o.status !== null && o.status >= 200 && o.status <= 299;
    const gone = o.status === 410;
    const schedule = hook.retry_schedule === null ? DEFAULT_RETRY_SCHEDULE_SECONDS : fromJson<number[]>(hook.retry_schedule);
    const retryIn = !ok && !gone && attempt <= schedule.length ? schedule[attempt - 1] * 1000 : undefined;
    await this.store.updateDelivery(tx, tenantId, delivery.id, {
      attempts: attempt,
      last_status_code: o.status,
      status: ok ? 'succeeded' : retryIn !== undefined ? 'pending' : 'failed',
      next_attempt_at: retryIn !== undefined ? now + retryIn : null,
      updated_at: now,
    });
    if (retryIn !== undefined)
      await this.platform.jobs.enqueue<DeliverPayload>(
        tx,
        DELIVER_JOB,
        { deliveryId: delivery.id, tenantId },
        { tenantId, runAt: now + retryIn },
      );
    if (delivery.kind === 'test') return; // a test says nothing about the endpoint's health
    // Failed attempts in a row, counted in the database (so every instance's attempts add up).
    const current = await this.store.countAttempt(tx, tenantId, hook.id, ok);
    const reached = current?.consecutive_failures ?? 0;
    const reason = gone ? 'gone' : !ok && reached >= hook.max_consecutive_failures ? 'too_many_failures' : undefined;
    if (reason && current?.active) {
      await this.store.update(tx, tenantId, hook.id, { active: 0, disabled_reason: reason, updated_at: now });
      await this.platform.events.emit(
        tx,
        'webhook.disabled',
        hook.id,
        { id: hook.id, url: hook.url, reason, consecutive_failures: reached },
        { tenantId, source: `/webhooks/${hook.id}` },
      );
    }
  }
}
