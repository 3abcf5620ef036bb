import { jsonType } from '../../platform/db/index.js';
import type { MigrationSet } from '../../platform/db/migrate.js';
import { CONTENT_FULL_TEXT } from './store.js';

/**
 * Content items, their text (raw for TEXT items, extracted otherwise) and the full-text index:
 * SQLite FTS5 (`content_fts`) or a PostgreSQL tsvector column with a GIN index.
 */
export const contentMigrations: MigrationSet = {
  module: 'content',
  migrations: {
    async '001_content'(db, dialect) {
      await db.schema
        .createTable('content_items')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('source_type', 'text', (c) => c.notNull())
        .addColumn('source_uri', 'text', (c) => c.notNull())
        .addColumn('s3_key', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('metadata', jsonType(dialect), (c) => c.notNull())
        .addColumn('title', 'text')
        .addColumn('word_count', 'integer')
        .addColumn('language', 'text')
        .addColumn('page_count', 'integer')
        .addColumn('detected_type', 'text')
        .addColumn('error', 'text')
        .addColumn('source_sub_type', 'text')
        .addColumn('user_notes', 'text')
        .addColumn('callback_url', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('processed_at', 'bigint')
        .execute();
      await db.schema.createIndex('content_items_tenant').on('content_items').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('content_items_tenant_status').on('content_items').columns(['tenant_id', 'status', 'id']).execute();
      await db.schema.createIndex('content_items_key').on('content_items').column('s3_key').execute();

      await db.schema
        .createTable('content_texts')
        .addColumn('item_id', 'text', (c) => c.primaryKey().references('content_items.id').onDelete('cascade'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('fts_rowid', 'integer')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await dialect.createFullText(db, CONTENT_FULL_TEXT);
    },
    /** Why an item's extracted text is empty or incomplete (a scanned PDF, an empty file, a cut). */
    async '002_content_warning'(db) {
      await db.schema.alterTable('content_items').addColumn('warning', 'text').execute();
    },
    /** How many index rows a long text has on SQLite (indexed in parts: FullTextSpec.parts). */
    async '003_content_fts_parts'(db) {
      await db.schema.alterTable('content_texts').addColumn('fts_parts', 'integer').execute();
    },
  },
};
