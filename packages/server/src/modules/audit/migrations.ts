import type { MigrationSet } from '../../platform/db/migrate.js';

export const auditMigrations: MigrationSet = {
  module: 'audit',
  migrations: {
    async '001_audit_log'(db, dialect) {
      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        // At-least-once delivery: an event seen twice is recorded once.
        .addColumn('event_id', 'text', (c) => c.notNull().unique())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('actor_kind', 'text')
        .addColumn('resource_type', 'text')
        .addColumn('resource_id', 'text')
        .addColumn('ip', 'text')
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('policy_ids', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        // JSON as text, not jsonb: the bytes hashed are the bytes kept.
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('recorded_at', 'bigint', (c) => c.notNull())
        .execute();
      // One chain per tenant, without forks.
      await db.schema.createIndex('audit_log_chain').on('audit_log').columns(['tenant_id', 'seq']).unique().execute();
      await db.schema.createIndex('audit_log_tenant_id').on('audit_log').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('audit_log_tenant_time').on('audit_log').columns(['tenant_id', 'time']).execute();
      await db.schema.createIndex('audit_log_tenant_actor').on('audit_log').columns(['tenant_id', 'actor', 'id']).execute();
      await db.schema.createIndex('audit_log_tenant_action').on('audit_log').columns(['tenant_id', 'action', 'id']).execute();
      await db.schema.createIndex('audit_log_tenant_resource').on('audit_log').columns(['tenant_id', 'resource_id', 'id']).execute();

      // Append-only in the database too: updates and deletes fail unless an operator removes
      // the trigger on purpose (which the hash chain then exposes).
      await dialect.createAppendOnlyTriggers(db, 'audit_log');
    },
  },
};
