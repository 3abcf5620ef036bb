import type { TestLoam } from '../../../test/harness.js';

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
