import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enforce } from '../../platform/authz.js';
import type { CloudEvent } from '../../platform/events/outbox.js';
import { type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { drainEvents, keyHeaders } from '../../test/principals.js';
import { GENESIS_HASH, chainedFields, describeEvent, entryHash } from './service.js';

const BASE = '/api/v1/admin/audit-logs';

describeEachDialect('audit log', (dialect) => {
  let t: TestLoam;
  let auditor: { 'x-api-key': string };
  let policyId: string;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    auditor = await keyHeaders(t, 'default', { roles: ['auditor'], name: 'auditor key' });
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/policies',
      headers: t.admin,
      payload: {
        name: 'nobody reads restricted',
        policy: 'forbid(principal, action, resource) when { resource.classification == "restricted" };',
      },
      remoteAddress: '203.0.113.9',
    });
    policyId = res.json().data.id;
    const { platform } = t.loam;
    await enforce(platform.authorizer, platform.events, platform.database.db, {
      principal: { tenantId: 'default', subject: 'usr_mallory', kind: 'user', roles: ['data_scientist'], scopes: [] },
      action: 'datasets:read',
      resource: { type: 'dataset', id: 'ds_vault', tenantId: 'default', attributes: { classification: 'restricted' } },
      context: { ip: '198.51.100.7' },
    }).catch(() => {});
    await platform.transaction((tx) =>
      platform.events.emit(
        tx,
        'user.login_failed',
        'usr_bob',
        { actor: 'usr_bob', actor_kind: 'user', ip: '192.0.2.1', password: 'hunter2' },
        { tenantId: 'default' },
      ),
    );
    await deliverAll();
  });
  afterAll(() => t?.close());

  async function deliverAll() {
    await drainEvents(t);
  }
  const list = (query: Record<string, string> = {}, headers: Record<string, string> = t.admin) =>
    t.app.inject({ method: 'GET', url: BASE, headers, query });
  const allEntries = async (tenantHeaders: Record<string, string> = t.admin) => (await list({ limit: '1000' }, tenantHeaders)).json().data;

  it('records key, policy, denial and sign-in events with who, what, where, decision and policy ids', async () => {
    const res = await list({ limit: '1000' }, auditor);
    expect(res.statusCode).toBe(200);
    const entries = res.json().data;
    const actions = entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['apikey.created', 'policy.created', 'access.denied', 'user.login_failed']));

    const policy = entries.find((e: { action: string }) => e.action === 'policy.created');
    expect(policy).toMatchObject({
      actor: expect.stringMatching(/^key_/),
      actor_kind: 'api_key',
      resource_type: 'policy',
      resource_id: policyId,
      ip: '203.0.113.9',
      decision: 'allow',
      tenant_id: 'default',
    });
    const denied = entries.find((e: { action: string }) => e.action === 'access.denied');
    expect(denied).toMatchObject({
      actor: 'usr_mallory',
      actor_kind: 'user',
      resource_type: 'dataset',
      resource_id: 'ds_vault',
      ip: '198.51.100.7',
      decision: 'deny',
      policy_ids: [policyId],
    });
    expect(denied.details.action).toBe('datasets:read');
    const failed = entries.find((e: { action: string }) => e.action === 'user.login_failed');
    expect(failed).toMatchObject({ actor: 'usr_bob', decision: 'deny', ip: '192.0.2.1' });
    expect(failed.details.password).toBeUndefined(); // secrets never reach the log
    expect(failed.event_id).toMatch(/^evt_/);
    expect(failed.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('chains every entry to the previous one with SHA-256', async () => {
    const entries = await allEntries();
    expect(entries[0].seq).toBe(1);
    expect(entries[0].prev_hash).toBe(GENESIS_HASH);
    for (let i = 1; i < entries.length; i++) {
      expect(entries[i].seq).toBe(entries[i - 1].seq + 1);
      expect(entries[i].prev_hash).toBe(entries[i - 1].hash);
    }
    for (const e of entries) expect(e.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(new Set(entries.map((e: { hash: string }) => e.hash)).size).toBe(entries.length);
  });

  it('records each event once, however often it is delivered', async () => {
    const before = (await allEntries()).length;
    await t.loam.platform.database.db
      .updateTable('outbox_cursors')
      .set({ txid: 0, seq: 0 })
      .where('subscriber', '=', 'audit-log')
      .execute();
    await deliverAll();
    const row = await t.loam.platform.database.db
      .selectFrom('outbox_events')
      .selectAll()
      .where('type', '=', 'io.loam.policy.created')
      .executeTakeFirstOrThrow();
    await t.loam.services.audit.record({
      specversion: '1.0',
      id: row.id,
      type: row.type,
      source: row.source,
      subject: row.subject,
      time: new Date(Number(row.time)).toISOString(),
      datacontenttype: 'application/json',
      data: {},
      tenantid: row.tenant_id,
    });
    expect((await allEntries()).length).toBe(before);
  });

  it('filters by actor, action (exact or family), resource, decision and time range', async () => {
    const byActor = (await list({ actor: 'usr_mallory' })).json().data;
    // The denial, and the evaluation of the tenant's policies that decided it (#15's access.policy_evaluated).
    expect(byActor.map((e: { action: string }) => e.action).sort()).toEqual(['access.denied', 'access.policy_evaluated']);
    const byAction = (await list({ action: 'user.login_failed' })).json().data;
    expect(byAction).toHaveLength(1);
    const family = (await list({ action: 'policy.*' })).json().data;
    expect(family.length).toBeGreaterThan(0);
    expect(family.every((e: { action: string }) => e.action.startsWith('policy.'))).toBe(true);
    const byResource = (await list({ resource: policyId })).json().data;
    expect(byResource.map((e: { action: string }) => e.action)).toEqual(['policy.created']);
    const denials = (await list({ decision: 'deny' })).json().data;
    expect(denials.map((e: { action: string }) => e.action).sort()).toEqual([
      'access.denied',
      'access.policy_evaluated',
      'user.login_failed',
    ]);
    const future = (await list({ from: '2999-01-01T00:00:00Z' })).json().data;
    expect(future).toEqual([]);
    const past = (await list({ to: '2000-01-01T00:00:00Z' })).json().data;
    expect(past).toEqual([]);
    const all = (await list({ from: '2000-01-01T00:00:00Z', to: '2999-01-01T00:00:00Z' })).json().data;
    expect(all.length).toBe((await allEntries()).length);
    expect((await list({ from: 'yesterday' })).statusCode).toBe(400);
  });

  it('pages with signed cursors bound to the filters', async () => {
    const total = (await allEntries()).length;
    const seen: number[] = [];
    let cursor: string | undefined;
    let first: string | undefined;
    do {
      const body = (await list({ limit: '2', count: 'true', ...(cursor ? { cursor } : {}) })).json();
      expect(body.pagination.total_count).toBe(total);
      seen.push(...body.data.map((e: { seq: number }) => e.seq));
      cursor = body.pagination.has_more ? body.pagination.cursor : undefined;
      first ??= cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const otherFilter = await list({ limit: '2', actor: 'usr_bob', cursor: first as string });
    expect(otherFilter.statusCode).toBe(400);

    const newest: number[] = [];
    let back: string | undefined;
    do {
      const query: Record<string, string> = { limit: '3', sort: '-time', ...(back ? { cursor: back } : {}) };
      const body = (await list(query)).json();
      newest.push(...body.data.map((e: { seq: number }) => e.seq));
      back = body.pagination.has_more ? body.pagination.cursor : undefined;
    } while (back);
    expect(newest).toEqual([...seen].reverse());
    expect((await list({ sort: 'actor' })).statusCode).toBe(400);
  });

  it('is readable by admin and auditor roles only', async () => {
    const engineer = await keyHeaders(t, 'default', { roles: ['data_engineer'] });
    expect((await list({}, engineer)).statusCode).toBe(403);
    expect((await list({}, {})).statusCode).toBe(401);
    expect((await t.app.inject({ method: 'POST', url: `${BASE}/verify`, headers: engineer })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: `${BASE}/verify`, headers: auditor })).statusCode).toBe(200);
  });

  it('cannot be changed through the API', async () => {
    const [entry] = await allEntries();
    for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
      const one = await t.app.inject({
        method,
        url: `${BASE}/${entry.id}`,
        headers: t.admin,
        payload: method === 'DELETE' ? undefined : { actor: 'x' },
      });
      expect(one.statusCode).toBe(405);
      const coll = await t.app.inject({ method, url: BASE, headers: t.admin, payload: method === 'DELETE' ? undefined : { actor: 'x' } });
      expect(coll.statusCode).toBe(405);
    }
    expect((await t.app.inject({ method: 'POST', url: BASE, headers: t.admin, payload: { action: 'x' } })).statusCode).toBe(405);
    const again = await t.app.inject({ method: 'GET', url: `${BASE}/${entry.id}`, headers: t.admin });
    expect(again.json().data).toEqual(entry);
  });

  it('the database refuses updates and deletes too', async () => {
    const db = t.loam.platform.database.db;
    await expect(db.updateTable('audit_log').set({ actor: 'someone else' }).execute()).rejects.toThrow(/append-only/);
    await expect(db.deleteFrom('audit_log').execute()).rejects.toThrow(/append-only/);
  });

  it('keeps one chain per tenant; other tenants see neither entries nor ids', async () => {
    const tenantB = await keyHeaders(t, 'tenant-b', { roles: ['admin'] });
    await deliverAll();
    const entriesB = await allEntries(tenantB);
    expect(entriesB.length).toBeGreaterThan(0);
    expect(entriesB.every((e: { tenant_id: string }) => e.tenant_id === 'tenant-b')).toBe(true);
    expect(entriesB[0]).toMatchObject({ seq: 1, prev_hash: GENESIS_HASH });
    const [entryA] = await allEntries();
    expect((await t.app.inject({ method: 'GET', url: `${BASE}/${entryA.id}`, headers: tenantB })).statusCode).toBe(404);
    const verifyB = (await t.app.inject({ method: 'POST', url: `${BASE}/verify`, headers: tenantB })).json().data;
    expect(verifyB).toMatchObject({ valid: true, checked: entriesB.length });
  });

  it('verify: a valid chain reports its head', async () => {
    const entries = await allEntries();
    const res = await t.app.inject({ method: 'POST', url: `${BASE}/verify`, headers: t.admin });
    expect(res.statusCode).toBe(200);
    const last = entries[entries.length - 1];
    expect(res.json().data).toEqual({ valid: true, checked: entries.length, head: { seq: last.seq, hash: last.hash } });
  });

  /** What an attacker with database access does first: switch the append-only guard off. */
  async function disableGuard() {
    const db = t.loam.platform.database.db;
    if (dialect === 'postgres') await sql`alter table audit_log disable trigger audit_log_append_only`.execute(db);
    else {
      await sql`drop trigger if exists audit_log_no_update`.execute(db);
      await sql`drop trigger if exists audit_log_no_delete`.execute(db);
    }
  }

  async function chainOf(tenant: string, n: number) {
    const { platform } = t.loam;
    for (let i = 0; i < n; i++)
      await platform.transaction((tx) =>
        platform.events.emit(
          tx,
          'user.logged_in',
          `usr_${i}`,
          { actor: `usr_${i}`, actor_kind: 'user', ip: '10.0.0.1' },
          { tenantId: tenant },
        ),
      );
    await deliverAll();
    return t.loam.platform.database.db.selectFrom('audit_log').selectAll().where('tenant_id', '=', tenant).orderBy('seq').execute();
  }

  it('verify: a row changed directly in the database is reported', async () => {
    const rows = await chainOf('tamper-edit', 5);
    await disableGuard();
    const db = t.loam.platform.database.db;
    await db.updateTable('audit_log').set({ actor: 'usr_innocent' }).where('id', '=', rows[2].id).execute();
    const result = await t.loam.services.audit.verifyChain('tamper-edit');
    expect(result).toMatchObject({
      valid: false,
      checked: 3,
      first_broken: { id: rows[2].id, seq: 3, event_id: rows[2].event_id, reason: 'hash_mismatch' },
    });

    // Through the API, for the default tenant's chain.
    const victim = (await allEntries())[1];
    await db.updateTable('audit_log').set({ ip: '127.0.0.1' }).where('id', '=', victim.id).execute();
    const res = await t.app.inject({ method: 'POST', url: `${BASE}/verify`, headers: auditor });
    expect(res.json().data).toMatchObject({ valid: false, first_broken: { id: victim.id, seq: victim.seq, reason: 'hash_mismatch' } });
  });

  it('verify: a rewritten row with a recomputed hash breaks the next link', async () => {
    const rows = await chainOf('tamper-rehash', 4);
    await disableGuard();
    const fields = { ...chainedFields(rows[1]), actor: 'usr_innocent' };
    await t.loam.platform.database.db
      .updateTable('audit_log')
      .set({ actor: 'usr_innocent', hash: entryHash(fields) })
      .where('id', '=', rows[1].id)
      .execute();
    const result = await t.loam.services.audit.verifyChain('tamper-rehash');
    expect(result.first_broken).toMatchObject({ id: rows[2].id, seq: 3, reason: 'prev_hash_mismatch' });
  });

  it('verify: a deleted row leaves a sequence gap', async () => {
    const rows = await chainOf('tamper-delete', 4);
    await disableGuard();
    await t.loam.platform.database.db.deleteFrom('audit_log').where('id', '=', rows[1].id).execute();
    const result = await t.loam.services.audit.verifyChain('tamper-delete');
    expect(result).toMatchObject({ valid: false, first_broken: { id: rows[2].id, seq: 3, reason: 'sequence_gap' }, head: { seq: 4 } });
  });
});

it('describeEvent falls back on common keys and never copies secrets', () => {
  const event: CloudEvent = {
    specversion: '1.0',
    id: 'evt_1',
    type: 'io.loam.credential.created',
    source: '/cc_1',
    subject: 'cc_1',
    time: '2026-11-23T12:00:00.000Z',
    datacontenttype: 'application/json',
    data: { client_id: 'cli_1', client_secret: 's3cret', nested: { refresh_token: 'rt' } },
    tenantid: 'default',
  };
  const d = describeEvent(event);
  expect(d).toMatchObject({
    action: 'credential.created',
    actor: 'cli_1',
    actor_kind: 'client',
    resource_type: 'credential',
    resource_id: 'cc_1',
    decision: 'allow',
  });
  expect(JSON.stringify(d.details)).not.toMatch(/s3cret|rt"/);
});

describeEachDialect('audit log: sign-ins and credentials through the Atriumn routes', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t?.close());

  it('records credential creation, token issue and failed logins with actor and address', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/admin/credentials',
      headers: t.admin,
      payload: { issued_to: 'etl job', scopes: ['storage'] },
      remoteAddress: '203.0.113.20',
    });
    expect(created.statusCode).toBe(201);
    const { id, client_id, client_secret } = created.json();
    const token = await t.app.inject({
      method: 'POST',
      url: '/auth/token',
      payload: { grant_type: 'client_credentials', client_id, client_secret },
      remoteAddress: '203.0.113.21',
    });
    expect(token.statusCode).toBe(200);
    const login = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'nobody@example.com', password: 'wrong password' },
      remoteAddress: '203.0.113.22',
    });
    expect(login.statusCode).toBe(401);
    const key = await t.app.inject({ method: 'POST', url: '/api/v1/api-keys', headers: t.admin, payload: { name: 'ci', scopes: [] } });
    const keyId = key.json().data.id;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/api-keys/${keyId}`, headers: t.admin })).statusCode).toBe(204);
    await drainEvents(t);

    const entries = (await t.app.inject({ method: 'GET', url: BASE, headers: t.admin, query: { limit: '1000' } })).json().data;
    const byAction = (action: string) => entries.find((e: { action: string }) => e.action === action);
    expect(byAction('credential.created')).toMatchObject({ actor_kind: 'api_key', resource_id: id, ip: '203.0.113.20', decision: 'allow' });
    expect(byAction('token.issued')).toMatchObject({ actor: client_id, actor_kind: 'client', ip: '203.0.113.21', decision: 'allow' });
    expect(byAction('user.login_failed')).toMatchObject({ actor: 'nobody@example.com', decision: 'deny', ip: '203.0.113.22' });
    const adminKeyId = (await t.loam.services.apiKeys.authenticate(t.adminKey))?.subject; // who created and revoked `ci`
    expect(adminKeyId).toMatch(/^key_/);
    expect(
      entries
        .filter((e: { resource_id: string }) => e.resource_id === keyId)
        .map((e: { action: string; actor: string }) => [e.action, e.actor]),
    ).toEqual([
      ['apikey.created', adminKeyId],
      ['apikey.revoked', adminKeyId],
    ]);
    expect(JSON.stringify(entries)).not.toContain(client_secret);
    const verified = (await t.app.inject({ method: 'POST', url: `${BASE}/verify`, headers: t.admin })).json().data;
    expect(verified).toMatchObject({ valid: true, checked: entries.length });
  });
});

describeEachDialect('audit log: the tenant’s Cedar policies apply to reading it', (dialect) => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
  });
  afterAll(() => t?.close());

  it('a forbid on Loam::AuditLog answers 403 to a caller the scopes allow; other resource types still work', async () => {
    const tenant = 'cedar-audit';
    const admin = await keyHeaders(t, tenant, { roles: ['admin'] });
    const auditor = await keyHeaders(t, tenant, { roles: ['auditor'] });
    const created = await t.app.inject({
      method: 'POST',
      url: '/api/v1/admin/policies',
      headers: admin,
      payload: {
        name: 'auditors off the log; nobody reads failed sign-ins',
        policy: `forbid(principal, action, resource is Loam::AuditLog)
                 when { principal in Loam::Role::"auditor" || (resource.hasTag("action") && resource.getTag("action") == "user.login_failed") };`,
      },
    });
    expect(created.statusCode).toBe(201);
    const policyId = created.json().data.id;
    const { platform } = t.loam;
    await platform.transaction((tx) =>
      platform.events.emit(tx, 'user.login_failed', 'usr_x', { actor: 'usr_x', actor_kind: 'user' }, { tenantId: tenant }),
    );
    await drainEvents(t);

    const listed = await t.app.inject({ method: 'GET', url: BASE, headers: admin });
    expect(listed.statusCode).toBe(200);
    const entries = listed.json().data as { id: string; action: string }[];
    const failed = entries.find((e) => e.action === 'user.login_failed') as { id: string };
    const other = entries.find((e) => e.action !== 'user.login_failed') as { id: string };
    expect((await t.app.inject({ method: 'GET', url: `${BASE}/${other.id}`, headers: admin })).statusCode).toBe(200);
    const one = await t.app.inject({ method: 'GET', url: `${BASE}/${failed.id}`, headers: admin });
    expect(one.statusCode).toBe(403);
    expect(one.json().detail).toBe(`Access denied: forbidden by policy ${policyId}`);

    expect((await t.app.inject({ method: 'GET', url: BASE, headers: auditor })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: `${BASE}/verify`, headers: auditor })).statusCode).toBe(403);
    // Policies are another resource type: the auditor still reads them.
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/admin/policies', headers: auditor })).statusCode).toBe(200);
  });
});
