import type { MigrationSet } from '../../platform/db/migrate.js';

export const busMigrations: MigrationSet = {
  module: 'bus',
  migrations: {
    async '001_bus'(db, dialect) {
      await db.schema
        .createTable('bus_sessions')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('head', 'bigint', (c) => c.notNull())
        .addColumn('purged_through', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_activity_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('bus_sessions_pk', ['tenant_id', 'id'])
        .execute();
      await db.schema
        .createTable('bus_messages')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text', (c) => c.notNull())
        .addColumn('position', 'bigint', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('type', 'text')
        .addColumn('data', dialect.jsonType, (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('bus_messages_pk', ['tenant_id', 'session_id', 'position'])
        .execute();
      await db.schema.createIndex('bus_messages_time').on('bus_messages').columns(['tenant_id', 'time']).execute();
      await db.schema
        .createTable('bus_schemas')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('schema', dialect.jsonType, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('bus_schemas_pk', ['tenant_id', 'prefix'])
        .execute();
      await db.schema
        .createTable('bus_retention')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('max_age_ms', 'bigint')
        .addColumn('max_messages', 'bigint')
        .addPrimaryKeyConstraint('bus_retention_pk', ['tenant_id', 'prefix'])
        .execute();
    },
  },
};
