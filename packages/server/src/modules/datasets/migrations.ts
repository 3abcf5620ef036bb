import { sql } from 'kysely';
import { type Db, jsonType } from '../../platform/db/index.js';
import type { MigrationSet } from '../../platform/db/migrate.js';

/**
 * Datasets, their versions and records. Records are never copied to make a version: each row
 * carries the range of version numbers it is valid in (`valid_from` ≤ v < `valid_to`, open-ended
 * while `valid_to` is null), and the working draft has the number after the last finalized one.
 */
export const datasetMigrations: MigrationSet = {
  module: 'datasets',
  migrations: {
    async '001_datasets'(db, dialect) {
      const json = jsonType(dialect);
      await db.schema
        .createTable('datasets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('schema', json, (c) => c.notNull())
        .addColumn('metadata', json, (c) => c.notNull())
        .addColumn('tags', json, (c) => c.notNull())
        .addColumn('classification', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('draft_number', 'integer', (c) => c.notNull())
        .addColumn('record_count', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('derived_from', json)
        .addColumn('resource_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('archived_at', 'bigint')
        .addUniqueConstraint('datasets_tenant_name', ['tenant_id', 'name'])
        .execute();
      await db.schema.createIndex('datasets_tenant_id').on('datasets').columns(['tenant_id', 'id']).execute();

      await db.schema
        .createTable('dataset_versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('description', 'text')
        .addColumn('tags', json, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('record_count', 'bigint', (c) => c.notNull())
        .addColumn('checksum', 'text', (c) => c.notNull())
        .addColumn('schema', json, (c) => c.notNull())
        .addColumn('resource_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('deprecated_at', 'bigint')
        .addUniqueConstraint('dataset_versions_number', ['dataset_id', 'number'])
        .execute();

      await dialect
        .serialPrimaryKey(db.schema.createTable('dataset_records'), 'row_id')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('valid_from', 'integer', (c) => c.notNull())
        .addColumn('valid_to', 'integer')
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('data', json, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      // One live row per record id: client ids are unique per dataset, and two writers racing on
      // the same record cannot both succeed.
      await db.schema
        .createIndex('dataset_records_live')
        .on('dataset_records')
        .columns(['dataset_id', 'id'])
        .unique()
        .where(sql.ref('valid_to'), 'is', null)
        .execute();
      await db.schema.createIndex('dataset_records_history').on('dataset_records').columns(['dataset_id', 'id', 'valid_from']).execute();

      await db.schema
        .createTable('dataset_indexes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('field', 'text', (c) => c.notNull())
        .addColumn('sql_name', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('dataset_indexes_field', ['dataset_id', 'field'])
        .execute();

      await db.schema
        .createTable('dataset_lineage_nodes')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('attributes', json, (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_lineage_nodes_pk', ['dataset_id', 'id'])
        .execute();
      await db.schema
        .createTable('dataset_lineage_edges')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
        .addColumn('from_id', 'text', (c) => c.notNull())
        .addColumn('to_id', 'text', (c) => c.notNull())
        .addColumn('relation', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('dataset_lineage_edges_pk', ['dataset_id', 'from_id', 'to_id', 'relation'])
        .execute();
      await db.schema.createIndex('dataset_lineage_edges_from').on('dataset_lineage_edges').columns(['from_id', 'relation']).execute();

      await createTransferTables(db, json);
    },
    // The privacy engine's anonymize-on-insert policy (`{fields: {name: operator}}`), or null.
    async '002_insert_policy'(db, dialect) {
      await db.schema.alterTable('datasets').addColumn('insert_policy', jsonType(dialect)).execute();
    },
  },
};

/** Imports and exports (transfers.ts): part of 001_datasets, kept apart to keep that migration readable. */
async function createTransferTables(db: Db, json: ReturnType<typeof jsonType>): Promise<void> {
  await db.schema
    .createTable('dataset_imports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('id_field', 'text', (c) => c.notNull())
    .addColumn('file', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('processed', 'integer', (c) => c.notNull())
    .addColumn('failed', 'integer', (c) => c.notNull())
    // Offset (in characters of the decoded file) and line number after the last committed
    // chunk: a restarted job resumes exactly there.
    .addColumn('byte_offset', 'bigint', (c) => c.notNull())
    .addColumn('line_offset', 'integer', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
  await db.schema
    .createTable('dataset_import_errors')
    .addColumn('import_id', 'text', (c) => c.notNull().references('dataset_imports.id').onDelete('cascade'))
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('field', 'text')
    .addColumn('code', 'text', (c) => c.notNull())
    .addColumn('message', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('dataset_import_errors_pk', ['import_id', 'line', 'seq'])
    .execute();

  await db.schema
    .createTable('dataset_exports')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('tenant_id', 'text', (c) => c.notNull())
    .addColumn('dataset_id', 'text', (c) => c.notNull().references('datasets.id').onDelete('cascade'))
    .addColumn('version_id', 'text')
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('filter', json)
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('record_count', 'bigint', (c) => c.notNull())
    .addColumn('bytes', 'bigint', (c) => c.notNull())
    .addColumn('file', 'text')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('finished_at', 'bigint')
    .execute();
}
