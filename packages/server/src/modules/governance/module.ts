import type { LoamModule, Platform } from '../../platform/module.js';
import { governanceRoutes } from './routes.js';
import { type GovernanceDeps, GovernanceService } from './service.js';

/** Governance: compliance reports and policy evaluation. It owns no tables (it reads the others'). */
export function createGovernanceModule(platform: Platform, deps: GovernanceDeps): LoamModule<GovernanceService> {
  const governance = new GovernanceService(platform, deps);
  return { name: 'governance', service: governance, routes: (app) => governanceRoutes(app, governance) };
}
