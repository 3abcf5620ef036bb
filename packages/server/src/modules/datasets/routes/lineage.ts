import { DatasetParams, Envelope, Lineage, LineageQuery } from '@loam/api';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { DatasetService } from '../services/datasets.js';
import { lineageMermaid } from '../services/lineage.js';

import { base, read, tags } from './shared.js';

export const MERMAID_TYPE = 'text/vnd.mermaid';

/** The lineage graph of a dataset, as JSON or as a Mermaid flowchart. */
export function lineageRoutes(scope: LoamApp, datasets: DatasetService): void {
  scope.get(
    '/api/v1/datasets/:id/lineage',
    {
      config: read,
      schema: {
        tags,
        summary: `Lineage graph of a dataset and the datasets around it (JSON; Mermaid with ?format=mermaid or Accept: ${MERMAID_TYPE})`,
        params: DatasetParams,
        querystring: LineageQuery,
        response: { 200: Envelope(Lineage) },
      },
    },
    async (request, reply) => {
      const graph = await datasets.lineage.get(contextOf(request), request.params.id, request.query);
      const accept = request.headers.accept ?? '';
      if (request.query.format === 'mermaid' || (request.query.format === undefined && accept.includes(MERMAID_TYPE)))
        return reply.type(`${MERMAID_TYPE}; charset=utf-8`).send(lineageMermaid(graph) as never);
      return sendEnvelope(request, reply, graph, {
        links: { self: `${base(request.params.id)}/lineage`, dataset: base(request.params.id) },
      });
    },
  );
}
