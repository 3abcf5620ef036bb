import type { LoamModule } from '../../app.js';
import type { Platform } from '../../platform/index.js';
import { CedarAuthorizer } from './authorizer.js';
import { policyMigrations } from './migrations.js';
import { policyRoutes } from './routes.js';
import { PolicyService } from './service.js';

/** Tenant Cedar policies and the Cedar-backed authorizer, which replaces the platform's on start. */
export function createPoliciesModule(platform: Platform): { policies: PolicyService; module: LoamModule } {
  const policies = new PolicyService(platform);
  let authorizer: CedarAuthorizer | undefined;
  return {
    policies,
    module: {
      name: 'policies',
      migrations: policyMigrations,
      routes: (app) => policyRoutes(app, policies),
      start() {
        authorizer = new CedarAuthorizer(platform, policies);
        platform.authorizer = authorizer;
      },
      stop() {
        authorizer?.close();
      },
    },
  };
}
