import type { MigrationSet } from '../../platform/db/migrate.js';
import { jsonType } from '../../platform/db/index.js';

export const tenantMigrations: MigrationSet = {
  module: 'tenants',
  migrations: {
    // `if not exists`: databases created before this module owned the table got it from
    // `platform/001_init`; there this migration only records that the table is the module's.
    async '001_tenants'(db) {
      await db.schema
        .createTable('tenants')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
    async '002_operator_api'(db, dialect) {
      await db.schema
        .alterTable('tenants')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
        .execute();
      await db.schema.alterTable('tenants').addColumn('quotas', jsonType(dialect)).execute();
      await db.schema.alterTable('tenants').addColumn('updated_at', 'bigint').execute();
      await db.schema
        .createTable('tenant_usage_daily')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('requests', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('anonymizations', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('tenant_usage_daily_pk', ['tenant_id', 'day'])
        .execute();
    },
  },
};
