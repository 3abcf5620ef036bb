import type { LoamModule, Platform } from '../../platform/module.js';
import { analyticsMigrations } from './migrations.js';
import { analyticsRoutes } from './routes.js';
import { AnalyticsService } from './service.js';

/** The analytics hub: custom events per tenant (`/api/v1/analytics/events`) and `/api/v1/admin/metrics`. */
export function createAnalyticsModule(platform: Platform): LoamModule<AnalyticsService> {
  const analytics = new AnalyticsService(platform);
  return { name: 'analytics', service: analytics, migrations: [analyticsMigrations], routes: (app) => analyticsRoutes(app, analytics) };
}
