import { DatasetParams, DatasetStats, Envelope, GetRecordQuery } from '@loam/api';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { DatasetService } from '../services/datasets.js';

import { base, read, tags } from './shared.js';

/** Per-field statistics of the draft or a version. */
export function statsRoutes(scope: LoamApp, datasets: DatasetService): void {
  scope.get(
    '/api/v1/datasets/:id/stats',
    {
      config: read,
      schema: {
        tags,
        summary: 'Record count, size and per-field statistics',
        params: DatasetParams,
        querystring: GetRecordQuery,
        response: { 200: Envelope(DatasetStats) },
      },
    },
    async (request, reply) => {
      const stats = await datasets.stats.get(contextOf(request), request.params.id, request.query.version);
      return sendEnvelope(request, reply, stats, {
        links: { self: `${base(request.params.id)}/stats`, dataset: base(request.params.id) },
      });
    },
  );
}
