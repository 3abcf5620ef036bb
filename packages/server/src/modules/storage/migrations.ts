import { sql } from 'kysely';
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
    /** Bytes stored per tenant, kept up to date on every write (a SUM per upload grew with the tenant). */
    async '002_storage_usage'(db) {
      await db.schema
        .createTable('storage_usage')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey())
        .addColumn('bytes', 'bigint', (c) => c.notNull())
        .execute();
      await sql`insert into storage_usage (tenant_id, bytes)
        select tenant_id, coalesce(sum(size), 0) from storage_objects group by tenant_id`.execute(db);
    },
  },
};
