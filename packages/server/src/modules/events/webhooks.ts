import {
  type CreateWebhook,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  type DeliveryAttempt,
  type Pagination,
  type ReplayResult,
  type RotateWebhookSecret,
  type UpdateWebhook,
  type Webhook,
  type WebhookDelivery,
  typeMatches,
} from '@loam/api';
import ipaddr from 'ipaddr.js';
import type { RequestContext } from '../../platform/context.js';
import type { PageRequest } from '../../platform/http/pagination.js';
import { openAesGcm, sealAesGcm } from '../../platform/crypto/envelope.js';
import { fromJson, toJson } from '../../platform/db/index.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { type FetchError, addressRefusal, parseFetchUrl } from '../../platform/fetch/index.js';
import type { Platform } from '../../platform/module.js';
import { rfc3339, rfc3339OrNull } from '../../platform/time.js';
import { WebhookSender } from './delivery.js';
import { WebhookDispatcher } from './dispatcher.js';
import { generateSecret } from './signing.js';
import { ORIGIN, type EventStore } from './store.js';
import type { AttemptRow, DeliveryRow, WebhookRow } from './webhook-store.js';
import { WebhookStore } from './webhook-store.js';

/** Endpoints a tenant may have. */
export const MAX_WEBHOOKS_PER_TENANT = 100;
/** Events one replay may enqueue. */
export const MAX_REPLAY = 10_000;
const DEFAULT_GRACE_SECONDS = 86_400;

const resource = (tenantId: string, id = '*') => ({ type: 'Webhook', id, tenantId });

export function toWebhook(row: WebhookRow, secret?: string): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: fromJson(row.events),
    description: row.description,
    metadata: fromJson(row.metadata),
    active: row.active === 1,
    format: row.format,
    retry_schedule: row.retry_schedule === null ? [...DEFAULT_RETRY_SCHEDULE_SECONDS] : fromJson(row.retry_schedule),
    max_consecutive_failures: row.max_consecutive_failures,
    concurrency: row.concurrency,
    consecutive_failures: row.consecutive_failures,
    disabled_reason: row.disabled_reason,
    previous_secret_expires_at: row.previous_secret ? rfc3339OrNull(row.previous_secret_until) : null,
    created_at: rfc3339(row.created_at),
    updated_at: rfc3339(row.updated_at),
    ...(secret ? { secret } : {}),
  };
}

const toAttempt = (a: AttemptRow): DeliveryAttempt => ({
  attempt: a.attempt,
  started_at: rfc3339(a.started_at),
  status_code: a.status_code,
  latency_ms: a.latency_ms,
  response: a.response,
  error: a.error,
});

export const toDelivery = (d: DeliveryRow, attempts: AttemptRow[]): WebhookDelivery => ({
  id: d.id,
  webhook_id: d.webhook_id,
  event_id: d.event_id,
  event_type: d.event_type,
  kind: d.kind,
  status: d.status,
  attempts: attempts.map(toAttempt),
  next_attempt_at: rfc3339OrNull(d.next_attempt_at),
  created_at: rfc3339(d.created_at),
  updated_at: rfc3339(d.updated_at),
});

/**
 * Webhook endpoints of a tenant: CRUD, secret rotation, the fan-out of committed events to
 * deliveries (an outbox subscriber), deliveries' history, retry, replay and test.
 */
export class WebhookService {
  readonly store: WebhookStore;
  readonly dispatcher: WebhookDispatcher;
  private readonly key: Buffer;
  /** Secrets opened already, by endpoint and sealed value (a rotation seals a new one): every delivery is signed with them. */
  private readonly opened = new Map<string, string>();

  constructor(
    private readonly platform: Platform,
    private readonly events: EventStore,
  ) {
    this.store = new WebhookStore(platform.database.db);
    this.key = platform.signer.derive('webhook-secrets');
    const sender = new WebhookSender(platform, (hook) => this.secretsOf(hook));
    this.dispatcher = new WebhookDispatcher(platform, this.store, sender, platform.liveness.owner(platform.ids.new('whd')));
  }

  // ---- secrets --------------------------------------------------------------------------------

  private seal(id: string, secret: string): string {
    return sealAesGcm(this.key, Buffer.from(secret), `webhook:${id}`, this.platform.random).toString('base64url');
  }

  private open(id: string, sealed: string): string {
    const key = `${id}:${sealed}`;
    let secret = this.opened.get(key);
    if (secret === undefined) {
      secret = openAesGcm(this.key, Buffer.from(sealed, 'base64url'), `webhook:${id}`).toString('utf8');
      if (this.opened.size >= 10_000) this.opened.clear();
      this.opened.set(key, secret);
    }
    return secret;
  }

  /** The secrets that sign a delivery now: the current one, and the previous one during its grace period. */
  secretsOf(hook: WebhookRow): string[] {
    const out = [this.open(hook.id, hook.secret)];
    if (hook.previous_secret && (hook.previous_secret_until ?? 0) > this.platform.clock.now())
      out.push(this.open(hook.id, hook.previous_secret));
    return out;
  }

  // ---- endpoints ------------------------------------------------------------------------------

  /** 400 for a URL Loam will not call (scheme, credentials, a literal private address). */
  private checkUrl(raw: string): void {
    let url: URL;
    try {
      url = parseFetchUrl(raw);
    } catch (err) {
      throw new AppError('validation_error', 400, `url: ${(err as FetchError).message}`);
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const allowPrivate = this.platform.config.webhookAllowPrivateTargets;
    const refusal = ipaddr.isValid(host)
      ? addressRefusal(host, { allowPrivate })
      : host === 'localhost' && !allowPrivate
        ? 'loopback'
        : null;
    if (refusal)
      throw new AppError('validation_error', 400, `url: Loam does not deliver to ${refusal} (see LOAM_WEBHOOK_ALLOW_PRIVATE_TARGETS)`);
  }

  async create(ctx: RequestContext, input: CreateWebhook): Promise<Webhook> {
    const { tenantId } = ctx;
    await this.platform.access.check(ctx, 'events:admin', resource(tenantId));
    this.checkUrl(input.url);
    const id = this.platform.ids.new('wh');
    const secret = input.secret ?? generateSecret(this.platform.random);
    const now = this.platform.clock.now();
    const config = this.platform.config;
    const row = await this.platform.transaction(async (tx) => {
      if ((await this.store.count(tx, tenantId)) >= MAX_WEBHOOKS_PER_TENANT)
        throw new AppError('quota_exceeded', 403, `A tenant may have at most ${MAX_WEBHOOKS_PER_TENANT} webhooks`);
      return this.store.insert(tx, {
        id,
        tenant_id: tenantId,
        url: input.url,
        description: input.description ?? '',
        metadata: toJson(input.metadata ?? {}),
        events: toJson(input.events ?? []),
        format: input.format ?? 'cloudevents',
        active: input.active === false ? 0 : 1,
        secret: this.seal(id, secret),
        previous_secret: null,
        previous_secret_until: null,
        retry_schedule: input.retry_schedule ? toJson(input.retry_schedule) : null,
        max_consecutive_failures: input.max_consecutive_failures ?? config.webhookMaxFailures,
        concurrency: input.concurrency ?? config.webhookConcurrency,
        consecutive_failures: 0,
        disabled_reason: null,
        created_at: now,
        updated_at: now,
      });
    });
    return toWebhook(row, secret);
  }

  private async load(ctx: RequestContext, id: string, action: string): Promise<WebhookRow> {
    const row = await this.store.find(this.platform.database.db, ctx.tenantId, id);
    if (!row) throw notFound('Webhook');
    await this.platform.access.check(ctx, action, resource(ctx.tenantId, id));
    return row;
  }

  async get(ctx: RequestContext, id: string): Promise<Webhook> {
    return toWebhook(await this.load(ctx, id, 'events:admin'));
  }

  async list(ctx: RequestContext, page: PageRequest): Promise<{ items: WebhookRow[]; pagination: Pagination }> {
    await this.platform.access.check(ctx, 'events:admin', resource(ctx.tenantId));
    return this.store.list(ctx.tenantId, page, this.platform.signer);
  }

  async update(ctx: RequestContext, id: string, patch: UpdateWebhook): Promise<Webhook> {
    await this.load(ctx, id, 'events:admin');
    if (patch.url !== undefined) this.checkUrl(patch.url);
    const row = await this.platform.transaction((tx) =>
      this.store.update(tx, ctx.tenantId, id, {
        ...(patch.url !== undefined ? { url: patch.url } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
        ...(patch.metadata !== undefined ? { metadata: toJson(patch.metadata) } : {}),
        ...(patch.events !== undefined ? { events: toJson(patch.events) } : {}),
        ...(patch.format !== undefined ? { format: patch.format } : {}),
        ...(patch.retry_schedule !== undefined ? { retry_schedule: toJson(patch.retry_schedule) } : {}),
        ...(patch.max_consecutive_failures !== undefined ? { max_consecutive_failures: patch.max_consecutive_failures } : {}),
        ...(patch.concurrency !== undefined ? { concurrency: patch.concurrency } : {}),
        // Re-enabling starts the failure count afresh.
        ...(patch.active !== undefined
          ? { active: patch.active ? 1 : 0, ...(patch.active ? { consecutive_failures: 0, disabled_reason: null } : {}) }
          : {}),
        updated_at: this.platform.clock.now(),
      }),
    );
    if (!row) throw notFound('Webhook');
    return toWebhook(row);
  }

  async delete(ctx: RequestContext, id: string): Promise<void> {
    await this.load(ctx, id, 'events:admin');
    await this.platform.transaction((tx) => this.store.delete(tx, ctx.tenantId, id));
  }

  /** A new secret (given or generated), shown once; the old one keeps signing for the grace period. */
  async rotateSecret(ctx: RequestContext, id: string, input: RotateWebhookSecret): Promise<Webhook> {
    const current = await this.load(ctx, id, 'events:admin');
    const secret = input.secret ?? generateSecret(this.platform.random);
    const now = this.platform.clock.now();
    const grace = (input.grace_period_seconds ?? DEFAULT_GRACE_SECONDS) * 1000;
    const row = await this.platform.transaction((tx) =>
      this.store.update(tx, ctx.tenantId, id, {
        secret: this.seal(id, secret),
        previous_secret: grace > 0 ? current.secret : null,
        previous_secret_until: grace > 0 ? now + grace : null,
        updated_at: now,
      }),
    );
    if (!row) throw notFound('Webhook');
    return toWebhook(row, secret);
  }

  // ---- deliveries -----------------------------------------------------------------------------

  /**
   * Fan-out (a batch outbox subscriber): one delivery per matching active endpoint of each event's
   * tenant, each once (by its dedupe key, so a batch that comes again adds nothing), all in one
   * insert and one transaction, whose commit wakes the dispatcher.
   */
  fanOut = async (events: CloudEvent[]): Promise<void> => {
    const db = this.platform.database.db;
    const hooksOf = new Map<string, { hook: WebhookRow; patterns: string[] }[]>();
    const rows: ReturnType<WebhookService['deliveryRow']>[] = [];
    for (const event of events) {
      let hooks = hooksOf.get(event.tenantid);
      if (!hooks) {
        hooks = (await this.store.active(db, event.tenantid)).map((hook) => ({ hook, patterns: fromJson<string[]>(hook.events) }));
        hooksOf.set(event.tenantid, hooks);
      }
      for (const { hook, patterns } of hooks)
        if (patterns.length === 0 || patterns.some((p) => typeMatches(p, event.type)))
          rows.push(this.deliveryRow(hook, event, 'event', `${hook.id}:${event.id}`));
    }
    if (rows.length > 0) await this.platform.transaction((tx) => this.store.insertDeliveries(tx, rows));
  };

  /** A new pending delivery of `event` to `hook`, due now. */
  private deliveryRow(hook: WebhookRow, event: CloudEvent, kind: DeliveryRow['kind'], dedupeKey: string | null) {
    const now = this.platform.clock.now();
    return {
      id: this.platform.ids.new('whd'),
      tenant_id: hook.tenant_id,
      webhook_id: hook.id,
      event_id: event.id,
      event_type: event.type,
      event: toJson(event),
      kind,
      dedupe_key: dedupeKey,
      status: 'pending' as const,
      attempts: 0,
      next_attempt_at: now,
      last_status_code: null,
      lease_owner: null,
      lease_until: null,
      created_at: now,
      updated_at: now,
    };
  }

  /** One page of an endpoint's deliveries (newest first), each with its attempts. */
  async deliveries(
    ctx: RequestContext,
    id: string,
    status: string | undefined,
    page: PageRequest,
  ): Promise<{ items: WebhookDelivery[]; pagination: Pagination }> {
    await this.load(ctx, id, 'events:admin');
    const { items: rows, pagination } = await this.store.deliveries(ctx.tenantId, id, status, page, this.platform.signer);
    const attempts = await this.store.attempts(
      ctx.tenantId,
      rows.map((r) => r.id),
    );
    return { items: rows.map((r) => toDelivery(r, attempts.get(r.id) ?? [])), pagination };
  }

  private async view(tenantId: string, deliveryId: string): Promise<WebhookDelivery> {
    const row = await this.store.delivery(this.platform.database.db, tenantId, deliveryId);
    if (!row) throw notFound('Delivery');
    return toDelivery(row, (await this.store.attempts(tenantId, [deliveryId])).get(deliveryId) ?? []);
  }

  /** Sends a failed (or succeeded) delivery once more, now. 409 while it is still pending. */
  async retry(ctx: RequestContext, id: string, deliveryId: string): Promise<WebhookDelivery> {
    await this.load(ctx, id, 'events:admin');
    const { tenantId } = ctx;
    await this.platform.transaction(async (tx) => {
      const d = await this.store.delivery(tx, tenantId, deliveryId);
      if (!d || d.webhook_id !== id) throw notFound('Delivery');
      if (d.status === 'pending') throw new AppError('conflict', 409, 'The delivery is still pending');
      const now = this.platform.clock.now();
      await this.store.updateDelivery(tx, tenantId, deliveryId, { status: 'pending', next_attempt_at: now, updated_at: now });
    });
    return this.view(tenantId, deliveryId);
  }

  /** Sends the endpoint's events of a time range again (new deliveries), at most MAX_REPLAY. */
  async replay(ctx: RequestContext, id: string, since: string, until?: string): Promise<ReplayResult> {
    const hook = await this.load(ctx, id, 'events:admin');
    const range = { since: Date.parse(since), ...(until ? { until: Date.parse(until) } : {}) };
    const patterns = fromJson<string[]>(hook.events);
    const logged = await this.events.after(
      ctx.tenantId,
      ORIGIN,
      { ...range, ...(patterns.length ? { types: patterns } : {}) },
      MAX_REPLAY + 1,
    );
    const chosen = logged.slice(0, MAX_REPLAY);
    await this.platform.transaction((tx) =>
      this.store.insertDeliveries(
        tx,
        chosen.map((e) => this.deliveryRow(hook, e.event, 'replay', null)),
      ),
    );
    return { enqueued: chosen.length, truncated: logged.length > MAX_REPLAY };
  }

  /** Sends a `webhook.test` event to the endpoint (even a disabled one). */
  async test(ctx: RequestContext, id: string): Promise<WebhookDelivery> {
    const hook = await this.load(ctx, id, 'events:admin');
    const event: CloudEvent = {
      specversion: '1.0',
      id: this.platform.ids.new('evt'),
      type: 'io.loam.webhook.test',
      source: `/webhooks/${id}`,
      subject: id,
      time: new Date(this.platform.clock.now()).toISOString(),
      datacontenttype: 'application/json',
      data: { webhook_id: id, message: 'A test delivery from Loam' },
      tenantid: ctx.tenantId,
      correlationid: ctx.requestId,
      ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
    };
    const row = this.deliveryRow(hook, event, 'test', null);
    await this.platform.transaction((tx) => this.store.insertDeliveries(tx, [row]));
    return this.view(ctx.tenantId, row.id);
  }
}
