import { jsonType } from '../../platform/db/index.js';
import type { MigrationSet } from '../../platform/db/migrate.js';

/** `llm_calls` one row per gateway call; `llm_usage_daily` its running totals; `llm_tenant_settings`. */
export const llmMigrations: MigrationSet = {
  module: 'llm',
  migrations: {
    async '001_llm_gateway'(db, dialect) {
      await db.schema
        .createTable('llm_calls')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('principal', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('streamed', 'integer', (c) => c.notNull())
        .addColumn('provider', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('error_code', 'text')
        .addColumn('input_tokens', 'integer', (c) => c.notNull())
        .addColumn('output_tokens', 'integer', (c) => c.notNull())
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('privacy_mode', 'text', (c) => c.notNull())
        .addColumn('privacy_counts', jsonType(dialect), (c) => c.notNull())
        .execute();
      await db.schema.createIndex('llm_calls_tenant_day').on('llm_calls').columns(['tenant_id', 'day', 'id']).execute();

      await db.schema
        .createTable('llm_usage_daily')
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('day', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('calls', 'integer', (c) => c.notNull())
        .addColumn('input_tokens', 'bigint', (c) => c.notNull())
        .addColumn('output_tokens', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('llm_usage_daily_pk', ['tenant_id', 'day', 'model'])
        .execute();

      await db.schema
        .createTable('llm_tenant_settings')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
        .addColumn('privacy_mode', 'text')
        .addColumn('daily_token_quota', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
