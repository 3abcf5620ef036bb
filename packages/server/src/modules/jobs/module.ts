import type { LoamModule, Platform } from '../../platform/module.js';
import { jobRoutes } from './routes.js';

/** `GET /api/v1/jobs/{id}`: the platform's job queue, seen by the callers whose requests enqueued jobs. */
export function createJobsModule(platform: Platform): LoamModule<undefined> {
  return { name: 'jobs', service: undefined, routes: (app) => jobRoutes(app, platform.jobs) };
}
