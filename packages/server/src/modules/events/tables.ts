import type { EpochMs, JsonText } from '../../platform/db/schema.js';

/** A webhook endpoint of a tenant. Its signing secrets are sealed (AES-256-GCM), never stored in clear. */
export interface WebhooksTable {
  id: string;
  tenant_id: string;
  url: string;
  description: string;
  /** JSON object. */
  metadata: JsonText;
  /** JSON array of event type patterns (`*` wildcards); empty = every event. */
  events: JsonText;
  format: 'cloudevents' | 'llm-vault';
  active: number;
  secret: string;
  /** The secret before the last rotation, still used to sign until `previous_secret_until`. */
  previous_secret: string | null;
  previous_secret_until: EpochMs | null;
  /** JSON array of delays in ms before each attempt after the first; null = the default schedule. */
  retry_schedule: JsonText | null;
  max_consecutive_failures: number;
  concurrency: number;
  consecutive_failures: number;
  disabled_reason: string | null;
  created_at: EpochMs;
  updated_at: EpochMs;
}

/** One event (or test / replay) to deliver to one endpoint, and where it stands. */
export interface WebhookDeliveriesTable {
  id: string;
  tenant_id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  /** The CloudEvent as JSON: the delivery does not depend on the outbox keeping it. */
  event: JsonText;
  kind: 'event' | 'test' | 'replay' | 'retry';
  /** `<webhook>:<event>` for fan-out (so a relay that delivers an event twice creates one delivery). */
  dedupe_key: string | null;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at: EpochMs | null;
  last_status_code: number | null;
  /** The dispatcher (`<process>/<worker>`) sending it now; a delivery leased and unexpired is in flight. */
  lease_owner: string | null;
  lease_until: EpochMs | null;
  created_at: EpochMs;
  updated_at: EpochMs;
}

/** One HTTP attempt of a delivery. */
export interface WebhookAttemptsTable {
  delivery_id: string;
  tenant_id: string;
  attempt: number;
  started_at: EpochMs;
  status_code: number | null;
  latency_ms: number;
  /** The first 1 KiB of the answer. */
  response: string | null;
  error: string | null;
}

declare module '../../platform/db/schema.js' {
  interface Database {
    webhooks: WebhooksTable;
    webhook_deliveries: WebhookDeliveriesTable;
    webhook_attempts: WebhookAttemptsTable;
  }
}
