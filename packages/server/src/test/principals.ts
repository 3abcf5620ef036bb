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

/**
 * Delivers every committed event to every subscriber (the relay is not running in tests). On
 * PostgreSQL a pass may stop short while another transaction is open, so it repeats until the
 * outbox lag is zero.
 */
export async function drainEvents(t: TestLoam, timeoutMs = 10_000): Promise<void> {
  const { events } = t.loam.platform;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await events.deliverPending();
    if ((await events.lag()) === 0) return;
    if (Date.now() > deadline) throw new Error('events were not delivered in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
