import type { LoamModule, Platform } from '../../platform/module.js';
import type { TenantService } from '../tenants/service.js';
import { identityMigrations } from './migrations.js';
import { identityAtriumnRoutes, identityRoutes } from './routes.js';
import { IdentityService } from './service.js';

/**
 * The identity module. Its authenticators (Loam JWTs, then the external OIDC issuer) go after
 * the API-key one already in `platform.authenticators`.
 */
export function createIdentityModule(platform: Platform, deps: { tenants: TenantService }): LoamModule<IdentityService> {
  const identity = new IdentityService(platform, deps.tenants);
  platform.authenticators.push(identity.tokens.authenticate, identity.externalIssuer.authenticate);
  return {
    name: 'identity',
    service: identity,
    migrations: [identityMigrations],
    routes: (app) => identityRoutes(app, identity, platform.config),
    atriumnRoutes: (app) => identityAtriumnRoutes(app, identity),
    async start() {
      await identity.keys.start();
      await identity.tokens.revocations.start();
    },
    async stop() {
      await identity.tokens.revocations.stop();
      await identity.users.flush();
      await identity.users.mailer.close();
    },
  };
}
