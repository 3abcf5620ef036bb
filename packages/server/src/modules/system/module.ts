import type { Migrator } from 'kysely';
import type { LoamModule, Platform } from '../../platform/module.js';
import { atriumnHealthRoute, systemRoutes } from './routes.js';

/**
 * Liveness, readiness, health, metrics, OpenAPI and docs. `migrator` is looked up when routes are
 * built: it is made from every module's migrations, this one's included.
 */
export function createSystemModule(platform: Platform, deps: { migrator: () => Migrator }): LoamModule<undefined> {
  return {
    name: 'system',
    service: undefined,
    routes: (app) => systemRoutes(app, platform, deps.migrator()),
    atriumnRoutes: atriumnHealthRoute,
  };
}
