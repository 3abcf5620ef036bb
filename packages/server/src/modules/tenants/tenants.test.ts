import { sql } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { DEFAULT_TENANT } from './service.js';

describeEachDialect('tenants module', (dialect) => {
  const opened: TestLoam[] = [];
  afterEach(async () => {
    for (const t of opened.splice(0).reverse()) await t.close();
  });

  it('owns the tenants table: its migration also runs on a database whose platform migration created the table', async () => {
    const first = await createTestLoam({ dialect, http: false });
    opened.push(first);
    await first.loam.services.tenants.ensure(first.loam.platform.database.db, 'acme', 'Acme', 'pro');
    // A database migrated before the tenants module owned its table: `platform/001_init` made
    // `tenants`, and `tenants/001_tenants` was never recorded.
    await sql`delete from loam_migrations where name = ${'tenants/001_tenants'}`.execute(first.loam.platform.database.db);
    await first.stop();

    const again = await createTestLoam({ dialect, http: false, dataDir: first.dataDir, databaseUrl: first.databaseUrl });
    opened.push(again);
    expect(
      await again.loam.migrator.getMigrations().then((ms) => ms.find((m) => m.name === 'tenants/001_tenants')?.executedAt),
    ).toBeDefined();
    expect(await again.loam.services.tenants.get('acme')).toMatchObject({ id: 'acme', name: 'Acme', tier: 'pro' });
    expect(await again.loam.services.tenants.tierOf(DEFAULT_TENANT)).toBe('enterprise');
  });
});
