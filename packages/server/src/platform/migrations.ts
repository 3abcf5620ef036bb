import { sql } from 'kysely';
import type { MigrationSet } from './db/migrate.js';
import { jsonType } from './db/index.js';

/** The platform's own tables: the event outbox and its cursors, the job queue, server settings. */
export const platformMigrations: MigrationSet = {
  module: 'platform',
  migrations: {
    async '001_init'(db, dialect) {
      // This migration also created `tenants` until the tenants module took the table over. Editing
      // an applied migration is safe here only because `tenants/001_tenants` creates the table
      // `if not exists`: on databases migrated before the change it finds the table and does
      // nothing; on new ones it creates it. Either way the schema ends up the same.

      await dialect
        .serialPrimaryKey(db.schema.createTable('outbox_events'), 'seq')
        // PostgreSQL: the writing transaction's id, so the relay only reads below the oldest open
        // transaction and never skips an event whose sequence number was taken before a commit.
        .addColumn('txid', 'bigint', (c) => c.notNull().defaultTo(dialect.transactionIdDefault()))
        .addColumn('id', 'text', (c) => c.notNull().unique())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('time', 'bigint', (c) => c.notNull())
        .addColumn('data', jsonType(dialect), (c) => c.notNull())
        .addColumn('correlation_id', 'text')
        .addColumn('traceparent', 'text')
        .execute();
      await db.schema.createIndex('outbox_events_position').on('outbox_events').columns(['txid', 'seq']).execute();
      await db.schema.createIndex('outbox_events_time').on('outbox_events').column('time').execute();

      await db.schema
        .createTable('outbox_cursors')
        .addColumn('subscriber', 'text', (c) => c.primaryKey())
        .addColumn('txid', 'bigint', (c) => c.notNull())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('retry_at', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('key', 'text')
        .addColumn('payload', jsonType(dialect), (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('result', jsonType(dialect))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('finished_at', 'bigint')
        .execute();
      await db.schema.createIndex('jobs_due').on('jobs').columns(['status', 'run_at']).execute();
      // A key dedups only while its job is pending, so the same work can be queued again later.
      await db.schema
        .createIndex('jobs_active_key')
        .on('jobs')
        .column('key')
        .unique()
        .where(sql.ref('status'), 'in', ['queued', 'running'])
        .execute();
    },

    // `storedSecret` (PostgreSQL) creates this table before migrations run, because the secret is
    // needed to build the platform; declaring it here too (if not exists) makes the migrations
    // the complete record of the schema, and creates it on SQLite, which keeps its secret in a file.
    async '002_settings'(db) {
      await db.schema
        .createTable('loam_settings')
        .ifNotExists()
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },

    // Lease holders: a process that dies is detected by the next one and its leases taken over.
    async '003_processes'(db) {
      await db.schema
        .createTable('loam_processes')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text', (c) => c.notNull())
        .addColumn('pid', 'integer', (c) => c.notNull())
        .addColumn('started', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
