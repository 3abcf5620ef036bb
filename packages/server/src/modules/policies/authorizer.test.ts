import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccessRequest, enforce } from '../../platform/authz.js';
import type { RequestContext } from '../../platform/context.js';
import { fromJson } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors.js';
import { type Principal, hasScope } from '../../platform/principal.js';
import { ManualClock, type TestLoam, createTestLoam, describeEachDialect } from '../../test/harness.js';
import { CedarAuthorizer } from './authorizer.js';
import { cedarAction, cedarResourceType } from './cedar.js';

const principal = (over: Partial<Principal> = {}): Principal => ({
  tenantId: 'default',
  subject: 'usr_alice',
  kind: 'user',
  roles: ['data_scientist'],
  scopes: [],
  attributes: { department: 'finance', clearance: '2' },
  ...over,
});

/** The tenant admin who manages the policies in these tests, from the office network (see the office-hours policy). */
const admin: RequestContext = {
  tenantId: 'default',
  principal: { tenantId: 'default', subject: 'key_admin', kind: 'api_key', roles: ['admin'], scopes: [] },
  requestId: 'req_test',
  ip: '10.0.0.1',
};

const dataset = (id: string, attributes: Record<string, unknown> = {}, tenantId = 'default') => ({
  type: 'dataset',
  id,
  tenantId,
  attributes,
});

describe('roles grant scopes (hasScope)', () => {
  const p = (roles: string[], scopes: string[] = []) => principal({ roles, scopes });
  it('maps each role to its permissions', () => {
    expect(hasScope(p(['data_engineer']), 'datasets:write')).toBe(true);
    expect(hasScope(p(['data_engineer']), 'ingest:write')).toBe(true);
    expect(hasScope(p(['data_engineer']), 'audit:read')).toBe(false);
    expect(hasScope(p(['data_scientist']), 'datasets:read')).toBe(true);
    expect(hasScope(p(['data_scientist']), 'datasets:write')).toBe(false);
    expect(hasScope(p(['data_scientist']), 'ai:write')).toBe(true);
    expect(hasScope(p(['auditor']), 'audit:read')).toBe(true);
    expect(hasScope(p(['auditor']), 'policies:read')).toBe(true);
    expect(hasScope(p(['auditor']), 'policies:write')).toBe(false);
    expect(hasScope(p(['auditor']), 'datasets:read')).toBe(false);
    expect(hasScope(p(['admin']), 'anything:at_all')).toBe(true);
  });
  it('keeps scope semantics and ignores unknown roles', () => {
    expect(hasScope(p([], ['storage']), 'storage:write')).toBe(true);
    expect(hasScope(p([], ['storage:read']), 'storage:write')).toBe(false);
    expect(hasScope(p(['constructor', 'toString', 'nobody']), 'datasets:read')).toBe(false);
    expect(hasScope(p(['auditor'], ['datasets:write']), 'datasets:write')).toBe(true);
  });
  it('maps service:verb actions and resource types onto the Cedar vocabulary', () => {
    expect(cedarAction('datasets:read')).toBe('read');
    expect(cedarAction('datasets:delete')).toBe('delete');
    expect(cedarAction('events:admin')).toBe('admin');
    expect(cedarAction('anonymization:use')).toBe('write');
    expect(cedarResourceType('dataset')).toBe('Dataset');
    expect(cedarResourceType('content')).toBe('Content');
    expect(cedarResourceType('shopping_cart')).toBe('Resource');
    expect(cedarResourceType('AuditLog')).toBe('AuditLog');
    expect(cedarResourceType('audit_log')).toBe('AuditLog');
  });
});

describeEachDialect('Cedar authorizer', (dialect) => {
  let t: TestLoam;
  const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0));
  let authorizer: CedarAuthorizer;
  beforeAll(async () => {
    t = await createTestLoam({ dialect, clock, config: { rateLimitEnabled: false } });
    authorizer = t.loam.platform.authorizer as CedarAuthorizer;
  });
  afterAll(() => t?.close());

  const decide = (over: Partial<AccessRequest> & { resource: AccessRequest['resource'] }) =>
    t.loam.platform.authorizer.authorize({ principal: principal(), action: 'datasets:read', context: { ip: '10.1.2.3' }, ...over });
  const addPolicy = (name: string, policy: string) => t.loam.services.policies.create(admin, { name, policy });

  it('is installed by the policies module', () => {
    expect(authorizer).toBeInstanceOf(CedarAuthorizer);
  });

  it('without policies, the built-in scope and tenant check decides', async () => {
    expect((await decide({ resource: dataset('ds_1') })).allowed).toBe(true);
    const write = await decide({ action: 'datasets:write', resource: dataset('ds_1') });
    expect(write).toMatchObject({ allowed: false, reason: 'missing scope datasets:write' });
    expect((await decide({ resource: dataset('ds_1', {}, 'other') })).allowed).toBe(false);
  });

  let forbidId = '';
  let permitId = '';
  it('once a tenant has a policy, Cedar denies by default', async () => {
    forbidId = (
      await addPolicy(
        'restricted needs clearance 3',
        'forbid(principal, action, resource) when { resource.classification == "restricted" && principal.clearance < 3 };',
      )
    ).id;
    const d = await decide({ resource: dataset('ds_1') });
    expect(d).toMatchObject({ allowed: false, policyIds: [], reason: 'no policy permits this request' });
  });

  it('permits on principal and resource attributes; forbid wins over permit', async () => {
    permitId = (
      await addPolicy(
        'scientists read their department’s datasets',
        `permit(principal in Loam::Role::"data_scientist", action == Loam::Action::"read", resource is Loam::Dataset)
         when { resource.hasTag("department") && resource.getTag("department") == principal.department };`,
      )
    ).id;
    const own = await decide({ resource: dataset('ds_fin', { department: 'finance' }) });
    expect(own).toEqual({ allowed: true, policyIds: [permitId] });
    expect((await decide({ resource: dataset('ds_hr', { department: 'hr' }) })).allowed).toBe(false);

    const restricted = await decide({ resource: dataset('ds_secret', { department: 'finance', classification: 'restricted' }) });
    expect(restricted).toMatchObject({ allowed: false, policyIds: [forbidId] });
    const cleared = await decide({
      principal: principal({ attributes: { department: 'finance', clearance: '3' } }),
      resource: dataset('ds_secret', { department: 'finance', classification: 'restricted' }),
    });
    expect(cleared.allowed).toBe(true);
  });

  it('a Cedar permit never grants what the scope check refuses', async () => {
    const d = await decide({ principal: principal({ roles: ['auditor'] }), resource: dataset('ds_fin', { department: 'finance' }) });
    expect(d.allowed).toBe(false);
    expect(d.reason).toMatch(/missing scope/);
  });

  it('uses the request context: client address and time of day', async () => {
    const officeHours = await addPolicy(
      'writes only from the office network, in office hours',
      `forbid(principal, action == Loam::Action::"write", resource)
       unless { context.ip.isInRange(ip("10.0.0.0/8")) && context.time.toTime() >= duration("8h") && context.time.toTime() < duration("18h") };`,
    );
    const writer = principal({ roles: ['data_engineer'] });
    const allowWrites = await addPolicy('engineers write', 'permit(principal in Loam::Role::"data_engineer", action, resource);');
    const write = (ip: string) => decide({ principal: writer, action: 'datasets:write', resource: dataset('ds_1'), context: { ip } });
    expect((await write('10.9.9.9')).allowed).toBe(true);
    expect(await write('192.168.1.1')).toMatchObject({ allowed: false, policyIds: [officeHours.id] });
    expect((await write('not an address')).allowed).toBe(false); // unknown address = 0.0.0.0
    clock.advance(10 * 3600_000); // 22:00 UTC
    expect((await write('10.9.9.9')).allowed).toBe(false);
    clock.advance(-10 * 3600_000);
    await t.loam.services.policies.delete(admin, officeHours.id);
    await t.loam.services.policies.delete(admin, allowWrites.id);
  });

  it('caches decisions and drops them when a policy changes', async () => {
    const request = { resource: dataset('ds_cache', { department: 'finance' }) };
    expect((await decide(request)).allowed).toBe(true);
    const before = { ...authorizer.stats };
    expect((await decide(request)).allowed).toBe(true);
    expect(authorizer.stats.cacheHits).toBe(before.cacheHits + 1);
    expect(authorizer.stats.cedarCalls).toBe(before.cedarCalls);

    await t.loam.services.policies.update(admin, permitId, {
      policy: `permit(principal in Loam::Role::"data_scientist", action == Loam::Action::"read", resource is Loam::Dataset)
               when { resource.hasTag("department") && resource.getTag("department") == "hr" };`,
    });
    const afterChange = authorizer.stats.cedarCalls; // the update's own access check asked Cedar too
    expect((await decide(request)).allowed).toBe(false);
    expect(authorizer.stats.cedarCalls).toBe(afterChange + 1);
  });

  it('another instance sees a change within LOAM_POLICY_REFRESH_MS', async () => {
    const second = await createTestLoam({
      dialect,
      clock,
      dataDir: t.dataDir,
      databaseUrl: t.databaseUrl,
      config: { rateLimitEnabled: false, policyRefreshMs: 5000 },
    });
    try {
      const request: AccessRequest = {
        principal: principal(),
        action: 'datasets:read',
        resource: dataset('ds_hr2', { department: 'hr' }),
        context: { ip: '10.0.0.1' },
      };
      expect((await second.loam.platform.authorizer.authorize(request)).allowed).toBe(true);
      await t.loam.services.policies.delete(admin, permitId); // through the first instance
      expect((await t.loam.platform.authorizer.authorize(request)).allowed).toBe(false);
      expect((await second.loam.platform.authorizer.authorize(request)).allowed).toBe(true); // still cached
      clock.advance(5000);
      expect((await second.loam.platform.authorizer.authorize(request)).allowed).toBe(false);
    } finally {
      await second.stop();
    }
  });

  it('enforce(): 403 with the deciding policies recorded as access.denied; 404 across tenants', async () => {
    const { platform } = t.loam;
    const secret = dataset('ds_vault', { classification: 'restricted' });
    const err = await enforce(platform.authorizer, platform.events, platform.database.db, {
      principal: principal(),
      action: 'datasets:read',
      resource: secret,
      context: { ip: '10.0.0.7' },
    }).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err.status).toBe(403);
    const row = await platform.database.db
      .selectFrom('outbox_events')
      .selectAll()
      .where('type', '=', 'io.loam.access.denied')
      .where('subject', '=', 'ds_vault')
      .executeTakeFirstOrThrow();
    expect(fromJson(row.data)).toMatchObject({
      actor: 'usr_alice',
      actor_kind: 'user',
      action: 'datasets:read',
      resource_type: 'dataset',
      policy_ids: [forbidId],
      decision: 'deny',
      ip: '10.0.0.7',
    });

    const foreign = await enforce(platform.authorizer, platform.events, platform.database.db, {
      principal: principal({ tenantId: 'intruder', roles: ['admin'] }),
      action: 'datasets:read',
      resource: dataset('ds_fin'),
    }).catch((e) => e);
    expect(foreign.status).toBe(404);
  });

  it('enforce({audit: true}) records allowed access as access.read / access.write', async () => {
    const { platform } = t.loam;
    await addPolicy('engineers do anything', 'permit(principal in Loam::Role::"data_engineer", action, resource);');
    const engineer = principal({ roles: ['data_engineer'], subject: 'usr_eve' });
    for (const action of ['datasets:read', 'datasets:write']) {
      const d = await enforce(platform.authorizer, platform.events, platform.database.db, {
        principal: engineer,
        action,
        resource: dataset('ds_audited'),
        audit: true,
      });
      expect(d.allowed).toBe(true);
    }
    const types = await platform.database.db
      .selectFrom('outbox_events')
      .select('type')
      .where('subject', '=', 'ds_audited')
      .orderBy('seq')
      .execute();
    // The tenant's policy decided both: each audited access also records access.policy_evaluated.
    expect(types.map((r) => r.type)).toEqual([
      'io.loam.access.policy_evaluated',
      'io.loam.access.read',
      'io.loam.access.policy_evaluated',
      'io.loam.access.write',
    ]);
  });
});
