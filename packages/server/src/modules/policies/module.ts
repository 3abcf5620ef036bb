import type { LoamModule, Platform } from '../../platform/module.js';
import { CedarAuthorizer } from './authorizer.js';
import { policyMigrations } from './migrations.js';
import { OpaAuthorizer } from './opa.js';
import { policyRoutes } from './routes.js';
import { PolicyService } from './service.js';

/**
 * Tenant Cedar policies and the Cedar-backed authorizer, which replaces the platform's on start;
 * with `LOAM_OPA_URL`, wrapped so that Open Policy Agent must allow too.
 */
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
      const { config } = platform;
      platform.authorizer = config.opaUrl
        ? new OpaAuthorizer(authorizer, {
            url: config.opaUrl,
            path: config.opaPolicyPath,
            timeoutMs: config.opaTimeoutMs,
            cacheTtlMs: config.opaCacheTtlMs,
            cacheSize: config.policyCacheSize,
            now: () => platform.clock.now(),
            log: platform.log,
          })
        : authorizer;
    },
    stop() {
      authorizer?.close();
    },
  };
}
