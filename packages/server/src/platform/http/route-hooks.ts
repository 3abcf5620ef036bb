import type { RouteOptions } from 'fastify';

type HookName = 'onRequest' | 'preValidation' | 'preHandler' | 'preSerialization' | 'onSend' | 'onResponse';

/**
 * Appends `hook` to one route's `name` hooks, from an `onRoute` listener: the hook then runs for
 * that route only, so requests to other routes pay nothing for it. Idempotent per hook function
 * (Fastify passes a GET route's options again for its automatic HEAD route).
 */
export function addRouteHook(route: RouteOptions, name: HookName, hook: unknown): void {
  const existing = route[name] as unknown;
  const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  if (hooks.includes(hook)) return;
  (route as unknown as Record<HookName, unknown[]>)[name] = [...hooks, hook];
}
