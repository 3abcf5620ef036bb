import type { MigrationSet } from '../../platform/db/migrate.js';
import { jsonType } from '../../platform/db/index.js';

export const privacyMigrations: MigrationSet = {
  module: 'privacy',
  migrations: {
    async '001_privacy'(db, dialect) {
      await db.schema
        .createTable('privacy_recognizers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('entity_type', 'text', (c) => c.notNull())
        .addColumn('patterns', jsonType(dialect), (c) => c.notNull())
        .addColumn('context', jsonType(dialect), (c) => c.notNull())
        .addColumn('enabled', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('privacy_recognizers_name', ['tenant_id', 'name'])
        .execute();
      // Reversible tokens: the value is stored only encrypted; value_mac finds an existing token.
      await db.schema
        .createTable('privacy_token_vault')
        .addColumn('token', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('value_mac', 'text', (c) => c.notNull())
        .addColumn('entity_type', 'text', (c) => c.notNull())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('privacy_token_vault_value', ['tenant_id', 'value_mac'])
        .execute();
      await db.schema
        .createTable('privacy_budgets')
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('epsilon_total', 'double precision', (c) => c.notNull())
        .addColumn('epsilon_spent', 'double precision', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('privacy_budgets_pk', ['tenant_id', 'subject'])
        .execute();
    },
  },
};
