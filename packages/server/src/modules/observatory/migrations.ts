import type { MigrationSet } from '../../platform/db/migrate.js';

export const observatoryMigrations: MigrationSet = {
  module: 'observatory',
  migrations: {
    async '001_logs'(db, dialect) {
      await dialect
        .serialPrimaryKey(db.schema.createTable('log_records'), 'seq')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('severity', 'integer', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('attributes', dialect.jsonType, (c) => c.notNull())
        .addColumn('execution_id', 'text')
        .addColumn('session_id', 'text')
        .addColumn('workflow_id', 'text')
        .addColumn('trace_id', 'text')
        .addColumn('span_id', 'text')
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('batch', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('log_records_time').on('log_records').columns(['tenant_id', 'time', 'seq']).execute();
      await db.schema.createIndex('log_records_execution').on('log_records').columns(['tenant_id', 'execution_id', 'time']).execute();
      await db.schema
        .createTable('log_executions')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('execution_id', 'text', (c) => c.notNull())
        .addColumn('session_id', 'text')
        .addColumn('workflow_id', 'text')
        .addColumn('first_time', 'bigint', (c) => c.notNull())
        .addColumn('last_time', 'bigint', (c) => c.notNull())
        .addColumn('n_trace', 'bigint', (c) => c.notNull())
        .addColumn('n_debug', 'bigint', (c) => c.notNull())
        .addColumn('n_info', 'bigint', (c) => c.notNull())
        .addColumn('n_warn', 'bigint', (c) => c.notNull())
        .addColumn('n_error', 'bigint', (c) => c.notNull())
        .addColumn('n_fatal', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('log_executions_pk', ['tenant_id', 'execution_id'])
        .execute();
      await db.schema.createIndex('log_executions_last').on('log_executions').columns(['tenant_id', 'last_time']).execute();
      await db.schema
        .createTable('log_settings')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
        .addColumn('retention_days', 'integer')
        .addColumn('quota_per_minute', 'bigint')
        .execute();
    },
    // The ingest quota's bucket moved from each process's memory to the database, so that
    // processes sharing a database share the quota.
    async '002_quota'(db) {
      await db.schema
        .createTable('log_quota')
        .addColumn('tenant_id', 'text', (c) => c.primaryKey().references('tenants.id').onDelete('cascade'))
        .addColumn('tokens', 'double precision', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
