import type { MigrationSet } from '../../platform/db/migrate.js';

export const analyticsMigrations: MigrationSet = {
  module: 'analytics',
  migrations: {
    async '001_events'(db, dialect) {
      await db.schema
        .createTable('analytics_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('subject', 'text')
        .addColumn('value', 'double precision')
        .addColumn('properties', dialect.jsonType, (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('analytics_events_type').on('analytics_events').columns(['tenant_id', 'type', 'id']).execute();
      await db.schema.createIndex('analytics_events_subject').on('analytics_events').columns(['tenant_id', 'subject', 'id']).execute();
    },
  },
};
