import type { MigrationSet } from '../../platform/db/migrate.js';

export const policyMigrations: MigrationSet = {
  module: 'policies',
  migrations: {
    async '001_policies'(db) {
      await db.schema
        .createTable('policies')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('effect', 'text', (c) => c.notNull())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('policies_tenant').on('policies').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('policies_tenant_name').on('policies').columns(['tenant_id', 'name']).unique().execute();
      // One row per tenant whose policies ever changed: the version every instance compares its
      // cached, compiled policy set against.
      await db.schema
        .createTable('policy_sets')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
