import { type Static, Type } from '@sinclair/typebox';
import { Timestamp } from './common.js';

/** The seed's retry schedule: immediately, then after 1, 2, 4 and 8 seconds. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [1, 2, 4, 8];
export const MAX_RETRY_DELAY_SECONDS = 3600;

const Pattern = Type.String({ pattern: '^[a-z0-9_.*]{1,128}$' });
/** `whsec_` and the base64 of 24 to 64 random bytes (Standard Webhooks). */
export const WEBHOOK_SECRET_PATTERN = '^whsec_[A-Za-z0-9+/]{32,88}={0,2}$';
const Secret = Type.String({ pattern: WEBHOOK_SECRET_PATTERN, description: 'whsec_ + base64 of 24 to 64 bytes' });
const Format = Type.Union([Type.Literal('cloudevents'), Type.Literal('llm-vault')], {
  description: 'cloudevents (structured CloudEvent, default) or llm-vault (the seed’s {event, data, webhook} body)',
});
const RetrySchedule = Type.Array(Type.Integer({ minimum: 0, maximum: MAX_RETRY_DELAY_SECONDS }), {
  maxItems: 20,
  description: 'Seconds to wait before each retry (default [1, 2, 4, 8]: five attempts in all)',
});

const settable = {
  url: Type.String({ minLength: 8, maxLength: 2048, description: 'http(s) URL; private and loopback addresses are refused' }),
  events: Type.Array(Pattern, { maxItems: 50, description: 'Event types to send, `*` wildcards; empty = every event' }),
  description: Type.String({ maxLength: 1000 }),
  metadata: Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 512 }), { maxProperties: 32 }),
  active: Type.Boolean(),
  format: Format,
  retry_schedule: RetrySchedule,
  max_consecutive_failures: Type.Integer({
    minimum: 1,
    maximum: 100_000,
    description: 'Failed attempts in a row that disable it (default 100)',
  }),
  concurrency: Type.Integer({ minimum: 1, maximum: 64, description: 'Deliveries in flight at once per instance (default 4)' }),
};

export const CreateWebhook = Type.Object(
  {
    url: settable.url,
    events: Type.Optional(settable.events),
    description: Type.Optional(settable.description),
    metadata: Type.Optional(settable.metadata),
    active: Type.Optional(settable.active),
    format: Type.Optional(settable.format),
    retry_schedule: Type.Optional(settable.retry_schedule),
    max_consecutive_failures: Type.Optional(settable.max_consecutive_failures),
    concurrency: Type.Optional(settable.concurrency),
    secret: Type.Optional(Secret),
  },
  { additionalProperties: false },
);
export type CreateWebhook = Static<typeof CreateWebhook>;

export const UpdateWebhook = Type.Partial(Type.Object(settable, { additionalProperties: false }), { additionalProperties: false });
export type UpdateWebhook = Static<typeof UpdateWebhook>;

export const Webhook = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  description: Type.String(),
  metadata: Type.Record(Type.String(), Type.String()),
  active: Type.Boolean(),
  format: Format,
  retry_schedule: Type.Array(Type.Integer()),
  max_consecutive_failures: Type.Integer(),
  concurrency: Type.Integer(),
  consecutive_failures: Type.Integer(),
  disabled_reason: Type.Union([Type.String(), Type.Null()]),
  /** Until when the previous secret still signs (after a rotation). */
  previous_secret_expires_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
  /** Only in the answer that creates it or rotates its secret: shown once. */
  secret: Type.Optional(Type.String()),
});
export type Webhook = Static<typeof Webhook>;

export const WebhookParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export type WebhookParams = Static<typeof WebhookParams>;
export const DeliveryParams = Type.Object({ id: Type.String({ maxLength: 64 }), did: Type.String({ maxLength: 64 }) });
export type DeliveryParams = Static<typeof DeliveryParams>;

export const RotateWebhookSecret = Type.Object(
  {
    secret: Type.Optional(Secret),
    grace_period_seconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 7 * 86_400, description: 'How long the old secret also signs (default 86400)' }),
    ),
  },
  { additionalProperties: false },
);
export type RotateWebhookSecret = Static<typeof RotateWebhookSecret>;

export const ReplayWebhook = Type.Object(
  {
    since: Timestamp,
    until: Type.Optional(Timestamp),
  },
  { additionalProperties: false },
);
export type ReplayWebhook = Static<typeof ReplayWebhook>;

export const ReplayResult = Type.Object({ enqueued: Type.Integer(), truncated: Type.Boolean() });
export type ReplayResult = Static<typeof ReplayResult>;

export const DeliveryAttempt = Type.Object({
  attempt: Type.Integer(),
  started_at: Timestamp,
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  latency_ms: Type.Integer(),
  /** The first 1 KiB of the answer. */
  response: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
});
export type DeliveryAttempt = Static<typeof DeliveryAttempt>;

export const WebhookDelivery = Type.Object({
  id: Type.String(),
  webhook_id: Type.String(),
  event_id: Type.String(),
  event_type: Type.String(),
  kind: Type.Union([Type.Literal('event'), Type.Literal('test'), Type.Literal('replay'), Type.Literal('retry')]),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')]),
  attempts: Type.Array(DeliveryAttempt),
  next_attempt_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp,
  updated_at: Timestamp,
});
export type WebhookDelivery = Static<typeof WebhookDelivery>;

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type DeliveriesQuery = Static<typeof DeliveriesQuery>;

export const WebhooksQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
});
export type WebhooksQuery = Static<typeof WebhooksQuery>;
