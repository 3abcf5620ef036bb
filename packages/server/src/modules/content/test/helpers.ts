import type { TestLoam } from '../../../test/harness.js';
import type { RequestContext } from '../../../platform/context.js';

/** An API key of `tenantId` (created if missing) holding `scopes`. */
export async function keyFor(t: TestLoam, tenantId: string, scopes: string[]): Promise<{ authorization: string }> {
  await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, tenantId, tenantId));
  const key = await t.loam.services.apiKeys.create(tenantId, { name: `test ${scopes.join(' ')}`, scopes });
  return { authorization: `Bearer ${key.key}` };
}

/** Path and query of an absolute URL, for `app.inject`. */
export const pathOf = (url: string): string => {
  const u = new URL(url);
  return u.pathname + u.search;
};

/** Runs every due job (processing, callbacks) to completion. */
export const drain = (t: TestLoam) => t.loam.platform.jobs.drain();

/** Adds a Cedar policy to the tenant of `admin` (a key holding `policies:write`) through the API. */
export async function addPolicy(t: TestLoam, admin: Record<string, string>, policy: string): Promise<void> {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v1/admin/policies',
    headers: admin,
    payload: { name: `policy ${policy.slice(0, 60)} ${Math.random()}`, policy },
  });
  if (res.statusCode !== 201) throw new Error(`policy not created: ${res.statusCode} ${res.body}`);
}

/** Lets every request in: a tenant with policies denies what no policy permits. */
export const PERMIT_ALL = 'permit(principal, action, resource);';

/** A request context acting for an admin of `tenantId`, for calling services directly. */
export const adminContext = (tenantId: string): RequestContext => ({
  tenantId,
  principal: { tenantId, subject: 'test-admin', kind: 'api_key', roles: ['admin'], scopes: ['*'] },
  requestId: 'req_test',
  ip: '127.0.0.1',
});
