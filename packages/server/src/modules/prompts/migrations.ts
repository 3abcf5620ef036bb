import { jsonType } from '../../platform/db/index.js';
import type { MigrationSet } from '../../platform/db/migrate.js';

/**
 * `prompts` holds the latest version of each prompt (what lists and filters read);
 * `prompt_versions` every version ever written, immutable; `prompt_tags` the latest tags, for
 * the "carries all these tags" filter; `prompt_labels` movable pointers to versions (`latest`
 * is not stored: it is always `prompts.version`).
 */
export const promptMigrations: MigrationSet = {
  module: 'prompts',
  migrations: {
    async '001_prompts'(db, dialect) {
      await db.schema
        .createTable('prompts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('parameters', jsonType(dialect), (c) => c.notNull())
        .addColumn('variables', jsonType(dialect), (c) => c.notNull())
        .addColumn('tags', jsonType(dialect), (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('prompts_tenant').on('prompts').columns(['tenant_id', 'id']).execute();
      await db.schema.createIndex('prompts_tenant_model').on('prompts').columns(['tenant_id', 'model_id', 'id']).execute();

      await db.schema
        .createTable('prompt_versions')
        .addColumn('prompt_id', 'text', (c) => c.notNull().references('prompts.id').onDelete('cascade'))
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('template', 'text', (c) => c.notNull())
        .addColumn('model_id', 'text', (c) => c.notNull())
        .addColumn('parameters', jsonType(dialect), (c) => c.notNull())
        .addColumn('variables', jsonType(dialect), (c) => c.notNull())
        .addColumn('tags', jsonType(dialect), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('prompt_versions_pk', ['prompt_id', 'version'])
        .execute();

      await db.schema
        .createTable('prompt_tags')
        .addColumn('prompt_id', 'text', (c) => c.notNull().references('prompts.id').onDelete('cascade'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('prompt_tags_pk', ['prompt_id', 'tag'])
        .execute();
      await db.schema.createIndex('prompt_tags_tenant_tag').on('prompt_tags').columns(['tenant_id', 'tag', 'prompt_id']).execute();

      await db.schema
        .createTable('prompt_labels')
        .addColumn('prompt_id', 'text', (c) => c.notNull().references('prompts.id').onDelete('cascade'))
        .addColumn('label', 'text', (c) => c.notNull())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('prompt_labels_pk', ['prompt_id', 'label'])
        .execute();
    },
  },
};
