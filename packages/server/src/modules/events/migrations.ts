import type { MigrationSet } from '../../platform/db/migrate.js';

export const eventsMigrations: MigrationSet = {
  module: 'events',
  migrations: {
    async '001_events'(db, dialect) {
      // Reading one tenant's events in log order (the events API and the stream).
      await db.schema
        .createIndex('outbox_events_tenant_position')
        .on('outbox_events')
        .columns(['tenant_id', ...dialect.outboxPositionColumns])
        .execute();
      await db.schema
        .createTable('webhooks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('metadata', dialect.jsonType, (c) => c.notNull())
        .addColumn('events', dialect.jsonType, (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_until', 'bigint')
        .addColumn('retry_schedule', dialect.jsonType)
        .addColumn('max_consecutive_failures', 'integer', (c) => c.notNull())
        .addColumn('concurrency', 'integer', (c) => c.notNull())
        .addColumn('consecutive_failures', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhooks_tenant').on('webhooks').columns(['tenant_id', 'id']).execute();
      await db.schema
        .createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
        .addColumn('event_id', 'text', (c) => c.notNull())
        .addColumn('event_type', 'text', (c) => c.notNull())
        .addColumn('event', dialect.jsonType, (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('dedupe_key', 'text', (c) => c.unique())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', 'bigint')
        .addColumn('last_status_code', 'integer')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_deliveries_webhook').on('webhook_deliveries').columns(['webhook_id', 'id']).execute();
      await db.schema
        .createTable('webhook_attempts')
        .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id').onDelete('cascade'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('started_at', 'bigint', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('response', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('webhook_attempts_pk', ['delivery_id', 'attempt'])
        .execute();
    },
    async '002_delivery_leases'(db) {
      // Deliveries are their own queue: the dispatcher leases due ones in batches (dispatcher.ts).
      await db.schema.alterTable('webhook_deliveries').addColumn('lease_owner', 'text').execute();
      await db.schema.alterTable('webhook_deliveries').addColumn('lease_until', 'bigint').execute();
      // Covers the claim's scan (an endpoint at its limit with a backlog is skipped in the index alone).
      await db.schema
        .createIndex('webhook_deliveries_due')
        .on('webhook_deliveries')
        .columns(['status', 'next_attempt_at', 'webhook_id', 'lease_until', 'tenant_id', 'id'])
        .execute();
      await db.schema.createIndex('webhook_deliveries_lease').on('webhook_deliveries').columns(['lease_until', 'webhook_id']).execute();
      // Their former jobs (one per attempt) have nothing left to do: the pending deliveries are due as they are.
      await db.deleteFrom('jobs').where('kind', '=', 'webhook.deliver').execute();
    },
  },
};
