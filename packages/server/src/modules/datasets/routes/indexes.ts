import { CreateIndex, DatasetIndex, DatasetParams, Envelope, SubResourceParams } from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { DatasetService } from '../services/datasets.js';

import { base, read, tags, write } from './shared.js';

/** Field indexes of a dataset. */
export function indexRoutes(scope: LoamApp, datasets: DatasetService): void {
  scope.post(
    '/api/v1/datasets/:id/indexes',
    {
      config: write,
      schema: {
        tags,
        summary: 'Index a field for fast filtering',
        params: DatasetParams,
        body: CreateIndex,
        response: { 201: Envelope(DatasetIndex) },
      },
    },
    async (request, reply) => {
      const idx = await datasets.indexes.createIndex(contextOf(request), request.params.id, request.body.field);
      const self = `${base(request.params.id)}/indexes/${idx.id}`;
      return sendEnvelope(request, reply, idx, { status: 201, location: self, links: { self } });
    },
  );

  scope.get(
    '/api/v1/datasets/:id/indexes',
    {
      config: read,
      schema: { tags, summary: 'List field indexes', params: DatasetParams, response: { 200: Envelope(Type.Array(DatasetIndex)) } },
    },
    async (request, reply) => {
      const items = await datasets.indexes.listIndexes(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, items, { links: { self: `${base(request.params.id)}/indexes` } });
    },
  );

  scope.delete(
    '/api/v1/datasets/:id/indexes/:sid',
    { config: write, schema: { tags, summary: 'Drop a field index', params: SubResourceParams } },
    async (request, reply) => {
      await datasets.indexes.deleteIndex(contextOf(request), request.params.id, request.params.sid);
      return reply.code(204).send();
    },
  );
}
