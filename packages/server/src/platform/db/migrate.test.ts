import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator } from 'kysely';
import { afterEach, expect, it, vi } from 'vitest';
import { createPostgresDatabase, describeEachDialect, untyped } from '../../test/harness.js';
import { type DatabaseHandle, type DialectName, openDatabase } from './index.js';
import { type MigrationSet, createMigrator, migrateToLatest, pendingMigrations } from './migrate.js';

/** `zeta` is registered first; `alpha` (alphabetically earlier) references its table. */
const zeta = (extra = false): MigrationSet => ({
  module: 'zeta',
  migrations: {
    async '001_parent'(db) {
      await db.schema
        .createTable('zeta_parent')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .execute();
    },
    ...(extra
      ? {
          async '002_more'(db) {
            await db.schema
              .createTable('zeta_more')
              .addColumn('id', 'text', (c) => c.primaryKey())
              .execute();
          },
        }
      : {}),
  },
});
const alpha: MigrationSet = {
  module: 'alpha',
  migrations: {
    async '001_child'(db) {
      await db.schema
        .createTable('alpha_child')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('parent_id', 'text', (c) => c.notNull().references('zeta_parent.id'))
        .execute();
    },
  },
};

describeEachDialect('migrations', (dialect: DialectName) => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function freshDatabase(): Promise<{ open(): DatabaseHandle }> {
    if (dialect === 'postgres') {
      const pg = await createPostgresDatabase();
      cleanups.push(pg.drop);
      return { open: () => track(openDatabase({ url: pg.url, sqlitePath: '', poolMax: 3 })) };
    }
    const dir = mkdtempSync(join(tmpdir(), 'loam-migrate-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    return { open: () => track(openDatabase({ url: '', sqlitePath: join(dir, 'loam.db'), poolMax: 1 })) };
  }
  function track(d: DatabaseHandle): DatabaseHandle {
    cleanups.push(() => d.close());
    return d;
  }

  it('runs modules in registration order, not alphabetical order, and only once', async () => {
    const db = (await freshDatabase()).open();
    const migrator = createMigrator(db.db, db.dialect, [zeta(), alpha]);
    expect(await pendingMigrations(migrator)).toEqual(['alpha/001_child', 'zeta/001_parent']);
    expect(await migrateToLatest(migrator)).toEqual(['zeta/001_parent', 'alpha/001_child']);
    expect(await pendingMigrations(migrator)).toEqual([]);
    expect(await migrateToLatest(migrator)).toEqual([]);
    await untyped(db.db).insertInto('zeta_parent').values({ id: 'p' }).execute();
    await untyped(db.db).insertInto('alpha_child').values({ id: 'c', parent_id: 'p' }).execute();
  });

  it('applies a migration added later to an earlier module', async () => {
    const db = (await freshDatabase()).open();
    await migrateToLatest(createMigrator(db.db, db.dialect, [zeta(), alpha]));
    const later = createMigrator(db.db, db.dialect, [zeta(true), alpha]);
    expect(await pendingMigrations(later)).toEqual(['zeta/002_more']);
    expect(await migrateToLatest(later)).toEqual(['zeta/002_more']);
  });

  it('a restart with every migration applied makes no Kysely pass (no table introspection)', async () => {
    const db = (await freshDatabase()).open();
    await migrateToLatest(createMigrator(db.db, db.dialect, [zeta(), alpha]));
    const pass = vi.spyOn(Migrator.prototype, 'migrateToLatest');
    try {
      expect(await migrateToLatest(createMigrator(db.db, db.dialect, [zeta(), alpha]))).toEqual([]);
      expect(pass).not.toHaveBeenCalled();
      expect(await migrateToLatest(createMigrator(db.db, db.dialect, [zeta(true), alpha]))).toEqual(['zeta/002_more']);
      expect(pass).toHaveBeenCalled();
    } finally {
      pass.mockRestore();
    }
  });

  it('refuses to run when an applied migration is no longer known', async () => {
    const db = (await freshDatabase()).open();
    await migrateToLatest(createMigrator(db.db, db.dialect, [zeta(true), alpha]));
    await expect(migrateToLatest(createMigrator(db.db, db.dialect, [zeta(), alpha]))).rejects.toThrow(/zeta\/002_more/);
  });

  it('names the failing migration', async () => {
    const db = (await freshDatabase()).open();
    const broken: MigrationSet = {
      module: 'broken',
      migrations: {
        async '001_bad'(d) {
          await d.schema.createTable('zeta_parent').addColumn('id', 'text').execute(); // exists already
        },
      },
    };
    await expect(migrateToLatest(createMigrator(db.db, db.dialect, [zeta(), broken]))).rejects.toThrow(
      /migration failed in broken\/001_bad/,
    );
  });

  if (dialect === 'postgres') {
    it('two processes migrating at once apply each migration exactly once', async () => {
      const fresh = await freshDatabase();
      const [a, b] = [fresh.open(), fresh.open()];
      const [ra, rb] = await Promise.all([
        migrateToLatest(createMigrator(a.db, a.dialect, [zeta(true), alpha])),
        migrateToLatest(createMigrator(b.db, b.dialect, [zeta(true), alpha])),
      ]);
      expect([...ra, ...rb].sort()).toEqual(['alpha/001_child', 'zeta/001_parent', 'zeta/002_more']);
    });
  }
});
