import { randomUUID } from 'node:crypto';
import type { TestLoam } from './harness.js';

/**
 * Creates `tenantId` if needed and an API key in it holding `roles` and `scopes`; returns the
 * headers that authenticate with it.
 */
export async function keyHeaders(
  t: TestLoam,
  tenantId: string,
  opts: { roles?: string[]; scopes?: string[]; name?: string } = {},
): Promise<{ 'x-api-key': string }> {
  await t.loam.platform.transaction((tx) => t.loam.services.tenants.ensure(tx, tenantId, `Tenant ${tenantId}`));
  const key = await t.loam.services.apiKeys.create(tenantId, {
    name: opts.name ?? `test key ${randomUUID()}`,
    scopes: opts.scopes ?? [],
    roles: opts.roles ?? [],
  });
  return { 'x-api-key': key.key };
}
