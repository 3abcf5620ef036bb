import { jsonType } from '../../platform/db/index.js';
import type { MigrationSet } from '../../platform/db/migrate.js';

export const identityMigrations: MigrationSet = {
  module: 'identity',
  migrations: {
    async '001_identity'(db, dialect) {
      // Users belong to one tenant; the email (the Atriumn `username`) is unique across tenants
      // because login names no tenant.
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attributes', jsonType(dialect), (c) => c.notNull())
        .addColumn('roles', jsonType(dialect), (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addColumn('confirmed_at', 'bigint')
        .execute();
      await db.schema.createIndex('users_tenant').on('users').columns(['tenant_id', 'id']).execute();

      // One live code per user and purpose; a new code replaces the old one.
      await db.schema
        .createTable('verification_codes')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('purpose', 'text', (c) => c.notNull())
        .addColumn('code_hash', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('verification_codes_pk', ['user_id', 'purpose'])
        .execute();

      // Keyed by the submitted username, whether or not such a user exists, so lockout does
      // not reveal which accounts exist.
      await db.schema
        .createTable('login_failures')
        .addColumn('username', 'text', (c) => c.primaryKey())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('window_start', 'bigint', (c) => c.notNull())
        .addColumn('locked_until', 'bigint')
        .execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('family_id', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addColumn('revoked_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();
      await db.schema.createIndex('refresh_tokens_user').on('refresh_tokens').column('user_id').execute();

      // Revoked token ids (`jti`) and sessions (`sid:<family>`, `sid:<credential>@<version>`), kept
      // until the last token they cover has expired. Every instance mirrors it in memory.
      await db.schema
        .createTable('token_denylist')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('token_denylist_expires').on('token_denylist').column('expires_at').execute();
      await db.schema.createIndex('token_denylist_created').on('token_denylist').column('created_at').execute();

      await db.schema
        .createTable('client_credentials')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull().references('tenants.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) => c.notNull().unique())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('issued_to', 'text', (c) => c.notNull())
        .addColumn('scopes', jsonType(dialect), (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('active', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('client_credentials_tenant').on('client_credentials').columns(['tenant_id', 'id']).execute();

      // Asymmetric signing keys (EdDSA / RS256). The private key is encrypted with a key derived
      // from the server secret. A retired key stays published until its last token expires.
      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();

      await db.schema
        .createTable('dev_mailbox')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('tenant_id', 'text', (c) => c.notNull())
        .addColumn('recipient', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },

    async '002_credential_token_epoch'(db) {
      // Tokens of a credential name the epoch they were issued in; changing the credential's
      // scopes or state starts a new epoch, which ends them (a description change does not).
      await db.schema
        .alterTable('client_credentials')
        .addColumn('token_epoch', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
};
