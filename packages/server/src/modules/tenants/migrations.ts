import type { MigrationSet } from '../../platform/db/migrate.js';

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
  },
};
