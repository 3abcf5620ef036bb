import { DatasetParams, Envelope, Lineage } from '@loam/api';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { DatasetService } from '../services/datasets.js';

import { base, read, tags } from './shared.js';

/** The lineage graph of a dataset. */
export function lineageRoutes(scope: LoamApp, datasets: DatasetService): void {
  scope.get(
    '/api/v1/datasets/:id/lineage',
    {
      config: read,
      schema: { tags, summary: 'Lineage graph of a dataset', params: DatasetParams, response: { 200: Envelope(Lineage) } },
    },
    async (request, reply) => {
      const graph = await datasets.lineage.get(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, graph, {
        links: { self: `${base(request.params.id)}/lineage`, dataset: base(request.params.id) },
      });
    },
  );
}
