import type { MigrationSet } from '../../platform/db/migrate.js';
import { jsonType } from '../../platform/db/index.js';

export const apiKeyMigrations: MigrationSet = {
  module: 'apikeys',
  migrations: {
    async '001_api_keys'(db, dialect) {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('scopes', jsonType(dialect), (c) => c.notNull())
        .addColumn('roles', jsonType(dialect), (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .execute();
      await db.schema.createIndex('api_keys_tenant').on('api_keys').columns(['tenant_id', 'id']).execute();
    },
  },
};
