import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DataKeyRing, DecryptionError, FileKeyWrapper } from '../../platform/crypto/envelope.js';
import { Ids, systemClock, systemRandom } from '../../platform/crypto/index.js';
import { TenantRootKeys } from '../../platform/crypto/tenant-keys.js';
import { type TestLoam, apiCaller, createTestLoam, describeEachDialect, untyped } from '../../test/harness.js';
import { drainEvents, keyHeaders } from '../../test/principals.js';
import { tenantTables } from './erasure.js';

const TENANT = 'doomed';
/** In every value the tenant writes, so a leftover anywhere in the database is found. */
const MARKER = 'doomedmarker7f3a';

/** Every table (but the audit log, which keeps its chain) whose rows mention `needle`. */
async function tablesMentioning(t: TestLoam, needle: string): Promise<string[]> {
  const db = untyped(t.loam.platform.database.db);
  const names =
    t.loam.platform.database.dialect.name === 'postgres'
      ? (
          await sql<{
            name: string;
          }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(
            db,
          )
        ).rows
      : (await sql<{ name: string }>`select name from sqlite_master where type = 'table'`.execute(db)).rows;
  const found: string[] = [];
  for (const { name } of names) {
    if (name === 'audit_log') continue;
    const rows = await db.selectFrom(name).selectAll().execute();
    const text = rows
      .map((r) =>
        Object.values(r)
          .map((v) => (Buffer.isBuffer(v) || v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : JSON.stringify(v)))
          .join(' '),
      )
      .join('\n');
    if (text.includes(needle)) found.push(name);
  }
  return found;
}

describeEachDialect('tenants: erasure', (dialect) => {
  let t: TestLoam;
  const call = apiCaller(() => t);
  let doomed: Record<string, string>;

  const rowsOf = async (tenantId: string) => {
    const db = t.loam.platform.database.db;
    const counts: Record<string, number> = {};
    for (const table of [...(await tenantTables(db)), 'audit_log']) {
      const r = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)} where tenant_id = ${tenantId}`.execute(db);
      counts[table] = Number(r.rows[0].n);
    }
    return counts;
  };

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    expect((await call('POST', '/api/v1/admin/tenants', { id: TENANT, name: 'Doomed' })).status).toBe(201);
    doomed = await keyHeaders(t, TENANT, { roles: ['admin'], scopes: ['*'] });
  });
  afterAll(() => t.close());

  /** Data of the tenant in every module, made through the API as its admin would. */
  async function seed(): Promise<{ datasetId: string }> {
    const ok = async (method: string, url: string, body?: unknown, headers: Record<string, string> = {}) => {
      const r = await call(method, url, body, { ...doomed, ...headers });
      expect(r.status, `${method} ${url}: ${r.body}`).toBeLessThan(300);
      return r.json;
    };
    const ds = await ok(
      'POST',
      '/api/v1/datasets',
      {
        name: 'people',
        schema: {
          fields: [
            { name: 'email', type: 'string', pii: 'email' },
            { name: 'n', type: 'integer' },
          ],
        },
      },
      { 'idempotency-key': 'seed-dataset' },
    );
    const datasetId = ds.data.id;
    await ok('POST', `/api/v1/datasets/${datasetId}/records`, [{ data: { email: 'ann@example.com', n: 1 } }]);
    await ok('POST', '/prompts', { name: 'greeting', template: 'Hi {{who}}', variables: [{ name: 'who' }] });
    await ok('POST', '/ingest/text', { content: 'a document the doomed tenant wrote' });
    await t.loam.services.storage.put(TENANT, `${TENANT}/files/a.txt`, Buffer.from('stored bytes'), 'text/plain');
    await ok('POST', '/api/v1/sessions/chat:1/messages', { data: { text: 'hello' } });
    await ok('POST', '/api/v1/anonymization/anonymize', {
      text: 'mail ann@example.com',
      operators: { EMAIL_ADDRESS: { type: 'tokenize' } },
    });
    await ok('POST', '/api/v1/admin/policies', { name: 'p', policy: 'permit(principal, action, resource);' });
    await ok('POST', '/admin/credentials', { issued_to: 'etl', scopes: [] });
    await ok('POST', '/api/v1/analytics/events', { type: 'quality.score', subject: datasetId, value: 0.9, properties: { note: MARKER } });
    // The other modules, each with the marker: knowledge, webhooks, logs, an import with a bad line.
    const kb = await ok('POST', '/api/v1/collections', { name: `${MARKER} kb` });
    await ok('POST', '/api/v1/documents', { collection_id: kb.data.id, filename: `${MARKER}.txt`, content_type: 'text/plain' });
    await ok('POST', '/api/v1/webhooks', { url: `https://example.com/${MARKER}`, description: MARKER });
    await ok('POST', '/api/v1/logs', { records: [{ level: 'info', message: MARKER }] }, { 'x-loam-execution-id': `${MARKER}-exec` });
    await ok('POST', `/api/v1/datasets/${datasetId}/records/import`, `{"email":"${MARKER}@example.com","n":"not a number"}`, {
      'content-type': 'application/x-ndjson',
    });
    await ok('POST', '/ingest/text', { content: `${MARKER} searchable text` });
    await ok('POST', '/api/v1/sessions/chat:1/messages', { data: { text: MARKER } });
    await t.loam.platform.jobs.drain();
    await t.loam.platform.database.db
      .insertInto('llm_usage_daily')
      .values({ tenant_id: TENANT, day: '2026-12-01', model: 'm', calls: 1, input_tokens: 1, output_tokens: 2 })
      .execute();
    await drainEvents(t);
    return { datasetId };
  }

  it('erases every row, blob and key of the tenant; a pre-erasure copy of its encrypted values stays unreadable', async () => {
    const { datasetId } = await seed();
    const db = t.loam.platform.database.db;
    const before = await rowsOf(TENANT);
    const seeded = Object.entries(before)
      .filter(([, n]) => n > 0)
      .map(([table]) => table);
    expect(seeded).toEqual(
      expect.arrayContaining([
        'api_keys',
        'datasets',
        'dataset_records',
        'prompts',
        'content_items',
        'storage_objects',
        'bus_messages',
        'privacy_token_vault',
        'policies',
        'client_credentials',
        'analytics_events',
        'llm_usage_daily',
        'data_keys',
        'idempotency_keys',
        'audit_log',
      ]),
    );
    expect(existsSync(join(t.dataDir, 'blobs', 'objects', TENANT))).toBe(true);
    expect(await tablesMentioning(t, MARKER)).toEqual(expect.arrayContaining(['kb_documents', 'webhooks', 'log_records', 'content_texts']));
    const importErrors = () =>
      db
        .selectFrom('dataset_import_errors')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
    expect(Number((await importErrors()).n)).toBe(1); // a table without tenant_id: its import's

    // "The backup": the stored record (its PII field encrypted), a value encrypted by the key
    // ring, and the tenant's wrapped data keys, all copied out of the database.
    const record = await db.selectFrom('dataset_records').select('data').where('dataset_id', '=', datasetId).executeTakeFirstOrThrow();
    expect(String(record.data)).toContain('enc:v1:');
    expect(String(record.data)).not.toContain('ann@example.com');
    const ciphertext = await t.loam.services.keys.encrypt(TENANT, 'backup-check', 'secret value', 'aad');
    const keyRows = await db.selectFrom('data_keys').selectAll().where('tenant_id', '=', TENANT).execute();
    const freshRing = () => {
      const wrapper = FileKeyWrapper.inDataDir(t.dataDir, systemRandom);
      const { database, blob } = t.loam.platform;
      return new DataKeyRing(
        database,
        wrapper,
        systemClock,
        new Ids(systemClock, systemRandom),
        systemRandom,
        new TenantRootKeys(blob, wrapper, systemRandom, database),
      );
    };
    expect(await freshRing().decryptString(TENANT, ciphertext, 'aad')).toBe('secret value');

    const erase = await call('DELETE', `/api/v1/admin/tenants/${TENANT}`);
    expect(erase.status).toBe(202);
    expect(erase.json.data).toMatchObject({ tenant_id: TENANT, status: 'erasing' });
    // Refused from the moment the erasure is asked for.
    expect((await call('GET', '/api/v1/whoami', undefined, doomed)).status).toBe(403);
    await t.loam.platform.jobs.drain();
    const job = await call('GET', erase.headers.location as string);
    expect(job.json.data.status).toBe('succeeded');
    const report = job.json.data.result;
    expect(report.data_keys_destroyed).toBeGreaterThanOrEqual(1);
    expect(report.blobs_deleted).toBeGreaterThanOrEqual(1);
    expect(report.tables.dataset_records).toBe(1);
    expect(report.kept).toEqual(['audit_log']);

    // Zero rows in every table with a tenant_id (the audit log keeps its chain), zero blobs.
    const after = await rowsOf(TENANT);
    expect(Object.entries(after).filter(([table, n]) => n > 0 && table !== 'audit_log')).toEqual([]);
    expect(after.audit_log).toBe(before.audit_log);
    expect(await t.loam.services.tenants.get(TENANT)).toBeUndefined();
    expect(existsSync(join(t.dataDir, 'blobs', 'objects', TENANT))).toBe(false);
    expect(existsSync(join(t.dataDir, 'blobs', 'objects', '.loam-keys', TENANT))).toBe(false);
    // Nothing the tenant wrote is left in any table, tenant_id or not (search indexes included).
    expect(await tablesMentioning(t, MARKER)).toEqual([]);
    expect(Number((await importErrors()).n)).toBe(0);

    // Restoring the data keys from the copy does not help: their tenant root key is gone.
    await untyped(db).insertInto('data_keys').values(keyRows).execute();
    await expect(freshRing().decryptString(TENANT, ciphertext, 'aad')).rejects.toBeInstanceOf(DecryptionError);
    await expect(t.loam.services.keys.decryptString(TENANT, ciphertext, 'aad')).rejects.toBeInstanceOf(DecryptionError);
    await untyped(db).deleteFrom('data_keys').where('tenant_id', '=', TENANT).execute();

    // The audit log keeps the fact of the erasure, in the operator's tenant.
    await drainEvents(t);
    const audit = await call('GET', '/api/v1/admin/audit-logs?action=tenant.erased');
    expect(audit.status).toBe(200);
    expect(JSON.stringify(audit.json.data)).toContain(TENANT);
    // The erased tenant's credentials no longer work, and its id is free again.
    expect((await call('GET', '/api/v1/whoami', undefined, doomed)).status).toBe(401);
    expect((await call('POST', '/api/v1/admin/tenants', { id: TENANT, name: 'Reborn' })).status).toBe(201);
    expect((await call('GET', `/api/v1/datasets?tenantId=${TENANT}`)).json.data).toEqual([]);
  });

  it('refuses to erase the operator’s own tenant, and 404s an unknown one', async () => {
    expect((await call('DELETE', '/api/v1/admin/tenants/default')).status).toBe(409);
    expect((await call('DELETE', '/api/v1/admin/tenants/nobody')).status).toBe(404);
  });
});
