import { Envelope, IdParams, Job } from '@loam/api';
import { contextOf, rfc3339, rfc3339OrNull, sendEnvelope } from '../../platform/http/context.js';
import { notFound } from '../../platform/errors.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { JobQueue, JobRecord } from '../../platform/jobs/queue.js';

export function toJob(j: JobRecord): Job {
  return {
    id: j.id,
    kind: j.kind,
    status: j.status,
    attempts: j.attempts,
    max_attempts: j.maxAttempts,
    run_at: rfc3339(j.runAt),
    last_error: j.lastError,
    result: j.result,
    created_at: rfc3339(j.createdAt),
    updated_at: rfc3339(j.updatedAt),
    finished_at: rfc3339OrNull(j.finishedAt),
  };
}

/** `GET /api/v1/jobs/{id}`: the resource every 202 answer points at. */
export function jobRoutes(app: LoamApp, jobs: JobQueue): void {
  app.get(
    '/api/v1/jobs/:id',
    {
      config: { auth: { scopes: [] } },
      schema: { tags: ['Jobs'], summary: 'Poll an asynchronous job', params: IdParams, response: { 200: Envelope(Job) } },
    },
    async (request, reply) => {
      // No access check: polling needs no scope (any caller whose request answered 202 may poll),
      // and the lookup is scoped to the caller's tenant (404 for another tenant's job).
      const job = await jobs.get(request.params.id, contextOf(request).tenantId);
      if (!job) throw notFound('Job');
      return sendEnvelope(request, reply, toJob(job), { links: { self: `/api/v1/jobs/${job.id}` } });
    },
  );
}
