import type { LoamModule, Platform } from '../../platform/module.js';
import { CedarAuthorizer } from './authorizer.js';
import { policyMigrations } from './migrations.js';
import { policyRoutes } from './routes.js';
import { PolicyService } from './service.js';

/** Tenant Cedar policies and the Cedar-backed authorizer, which replaces the platform's on start. */
export function createPoliciesModule(platform: Platform): LoamModule<PolicyService> {
  const policies = new PolicyService(platform);
  let authorizer: CedarAuthorizer | undefined;
  return {
    name: 'policies',
    service: policies,
    migrations: [policyMigrations],
    routes: (app) => policyRoutes(app, policies),
    start() {
      authorizer = new CedarAuthorizer(platform, policies);
      platform.authorizer = authorizer;
    },
    stop() {
      authorizer?.close();
    },
  };
}
