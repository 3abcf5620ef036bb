import type { MigrationSet } from '../../platform/db/migrate.js';

/** One row per stored object: who owns it and how big it is (for the per-tenant quota). */
export const storageMigrations: MigrationSet = {
  module: 'storage',
  migrations: {
    async '001_storage_objects'(db) {
      await db.schema
        .createTable('storage_objects')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint')
        .addColumn('etag', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('uploaded_at', 'bigint')
        .execute();
      await db.schema.createIndex('storage_objects_tenant').on('storage_objects').columns(['tenant_id', 'size']).execute();
    },
  },
};
