import type { Migration, MigrationResult, MigrationResultSet } from 'kysely';
import { Migrator } from 'kysely';
import type { Db, SqlDialect, Tx } from './index.js';

/** A module's schema changes, keyed by a numbered name (`001_init`), applied in that order. */
export type ModuleMigrations = Record<string, (db: Db, dialect: SqlDialect) => Promise<void>>;

export interface MigrationSet {
  module: string;
  migrations: ModuleMigrations;
}

const TABLE = 'loam_migrations';
const LOCK_TABLE = 'loam_migrations_lock';

function migrationsOf(sets: MigrationSet[], dialect: SqlDialect): Record<string, Migration> {
  const all: Record<string, Migration> = {};
  for (const set of sets) {
    for (const [name, up] of Object.entries(set.migrations)) {
      all[`${set.module}/${name}`] = { up: (d) => up(d, dialect) };
    }
  }
  return all;
}

function kyselyMigrator(db: Db, migrations: Record<string, Migration>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: TABLE,
    migrationLockTableName: LOCK_TABLE,
    allowUnorderedMigrations: true,
  });
}

async function executedNames(db: Db): Promise<string[]> {
  try {
    return (await db.selectFrom(TABLE).select('name').execute()).map((r) => r.name);
  } catch {
    return []; // first run: the table does not exist yet
  }
}

/**
 * Kysely's migrator over every module's migrations, recorded in `loam_migrations` as
 * `<module>/<name>`. Kysely applies pending migrations in alphabetical order of their names,
 * but a module's tables may reference those of a module registered before it (`api_keys` →
 * `tenants`), so `migrateToLatest` runs one phase per module, in registration order: phase i
 * offers modules 0..i (plus the names already applied, so Kysely sees no "missing" migration).
 * Within a module, migrations run in the order of their numbered names.
 */
export class ModuleMigrator extends Migrator {
  constructor(
    private readonly db: Db,
    private readonly dialect: SqlDialect,
    private readonly sets: MigrationSet[],
  ) {
    super({
      db,
      provider: { getMigrations: async () => migrationsOf(sets, dialect) },
      migrationTableName: TABLE,
      migrationLockTableName: LOCK_TABLE,
      allowUnorderedMigrations: true,
    });
  }

  override async migrateToLatest(): Promise<MigrationResultSet> {
    // The usual restart: one query instead of a Kysely pass (table introspection) per module.
    if (await this.upToDate()) return { results: [] };
    // Held across the per-module phases, so concurrent `loam serve` processes migrate one after the other.
    return this.dialect.withMigrationLock(this.db, (db) => this.phases(db));
  }

  /** Names offered by the modules and not recorded as applied, in Kysely's (alphabetical) order. */
  async pending(): Promise<string[]> {
    const executed = new Set(await executedNames(this.db));
    return Object.keys(migrationsOf(this.sets, this.dialect))
      .filter((name) => !executed.has(name))
      .sort();
  }

  /**
   * Whether the applied migrations are exactly the offered ones. An applied name that no module
   * offers any more is not "up to date": Kysely then refuses to migrate, as it should.
   */
  private async upToDate(): Promise<boolean> {
    const executed = await executedNames(this.db);
    const offered = Object.keys(migrationsOf(this.sets, this.dialect));
    const applied = new Set(executed);
    return executed.length === offered.length && offered.every((name) => applied.has(name));
  }

  private async phases(db: Db | Tx): Promise<MigrationResultSet> {
    const results: MigrationResult[] = [];
    const all = migrationsOf(this.sets, this.dialect);
    for (let i = 0; i < this.sets.length; i++) {
      const offered = migrationsOf(this.sets.slice(0, i + 1), this.dialect);
      // Already applied names of later modules, so Kysely sees nothing missing; a name no module
      // offers any more stays missing, and Kysely refuses to run (as with a single migrator).
      for (const name of await executedNames(db as Db)) if (all[name]) offered[name] ??= all[name];
      const phase = await kyselyMigrator(db as Db, offered).migrateToLatest();
      results.push(...(phase.results ?? []));
      if (phase.error) return { error: phase.error, results };
    }
    return { results };
  }
}

export function createMigrator(db: Db, dialect: SqlDialect, sets: MigrationSet[]): Migrator {
  return new ModuleMigrator(db, dialect, sets);
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
  if (migrator instanceof ModuleMigrator) return migrator.pending(); // one query, no introspection
  return (await migrator.getMigrations()).filter((m) => !m.executedAt).map((m) => m.name);
}
