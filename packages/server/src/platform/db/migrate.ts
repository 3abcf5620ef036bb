import { type Migration, type MigrationResultSet, Migrator } from 'kysely';
import type { Db, Dialect } from './index.js';

/** A module's schema changes, keyed by a numbered name (`001_init`), applied in that order. */
export type ModuleMigrations = Record<string, (db: Db, dialect: Dialect) => Promise<void>>;

export interface MigrationSet {
  module: string;
  migrations: ModuleMigrations;
}

/**
 * Kysely's migrator over every module's migrations, recorded in `loam_migrations` as
 * `<module>/<name>`. Modules are independent, so a module added later may sort before
 * one already applied: unordered application is allowed, order within a module is kept.
 */
export function createMigrator(db: Db, dialect: Dialect, sets: MigrationSet[]): Migrator {
  const all: Record<string, Migration> = {};
  for (const set of sets) {
    for (const [name, up] of Object.entries(set.migrations)) {
      all[`${set.module}/${name}`] = { up: (d) => up(d, dialect) };
    }
  }
  return new Migrator({
    db,
    provider: { getMigrations: async () => all },
    migrationTableName: 'loam_migrations',
    migrationLockTableName: 'loam_migrations_lock',
    allowUnorderedMigrations: true,
  });
}

/** Applies pending migrations; throws with the failing migration's name. */
export async function migrateToLatest(migrator: Migrator): Promise<string[]> {
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    const name = failed ? ` in ${failed.migrationName}` : '';
    throw new Error(`migration failed${name}: ${(error as Error).message ?? error}`, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function pendingMigrations(migrator: Migrator): Promise<string[]> {
  return (await migrator.getMigrations()).filter((m) => !m.executedAt).map((m) => m.name);
}
