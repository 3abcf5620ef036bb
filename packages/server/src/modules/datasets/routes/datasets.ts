import { CreateDataset, Dataset, DatasetParams, Envelope, ListDatasetsQuery, UpdateDataset } from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import { ifMatchOf, notModified } from '../../../platform/http/etag.js';
import type { LoamApp } from '../../../platform/http/server.js';
import { resourceETag } from '../services/core.js';
import type { DatasetService } from '../services/datasets.js';

import { base, datasetLinks, read, tags, write } from './shared.js';

/** Datasets themselves: create, list, get, update, archive and restore, delete. */
export function datasetResourceRoutes(scope: LoamApp, datasets: DatasetService): void {
  scope.post(
    '/api/v1/datasets',
    { config: write, schema: { tags, summary: 'Create a dataset', body: CreateDataset, response: { 201: Envelope(Dataset) } } },
    async (request, reply) => {
      const ds = await datasets.create(contextOf(request), request.body);
      return sendEnvelope(request, reply, ds, {
        status: 201,
        location: base(ds.id),
        links: datasetLinks(ds.id),
        metadata: { resource_version: String(ds.resource_version) },
      });
    },
  );

  scope.get(
    '/api/v1/datasets',
    {
      config: read,
      schema: { tags, summary: 'List datasets', querystring: ListDatasetsQuery, response: { 200: Envelope(Type.Array(Dataset)) } },
    },
    async (request, reply) => {
      const { items, pagination } = await datasets.list(contextOf(request), request.query);
      return sendEnvelope(request, reply, items, { pagination, links: { self: '/api/v1/datasets' } });
    },
  );

  scope.get(
    '/api/v1/datasets/:id',
    { config: read, schema: { tags, summary: 'Get a dataset', params: DatasetParams, response: { 200: Envelope(Dataset) } } },
    async (request, reply) => {
      const ds = await datasets.get(contextOf(request), request.params.id);
      if (notModified(request, reply, resourceETag(ds.resource_version))) return reply;
      return sendEnvelope(request, reply, ds, {
        links: datasetLinks(ds.id),
        metadata: { resource_version: String(ds.resource_version) },
      });
    },
  );

  scope.patch(
    '/api/v1/datasets/:id',
    {
      config: write,
      schema: {
        tags,
        summary: 'Update a dataset (If-Match honoured)',
        params: DatasetParams,
        body: UpdateDataset,
        response: { 200: Envelope(Dataset) },
      },
    },
    async (request, reply) => {
      const ds = await datasets.update(contextOf(request), request.params.id, request.body, ifMatchOf(request));
      reply.header('etag', resourceETag(ds.resource_version));
      return sendEnvelope(request, reply, ds, {
        links: datasetLinks(ds.id),
        metadata: { resource_version: String(ds.resource_version) },
      });
    },
  );

  scope.delete(
    '/api/v1/datasets/:id',
    { config: write, schema: { tags, summary: 'Delete a dataset and all its records and versions', params: DatasetParams } },
    async (request, reply) => {
      await datasets.remove(contextOf(request), request.params.id, ifMatchOf(request));
      return reply.code(204).send();
    },
  );

  for (const action of ['archive', 'restore'] as const) {
    scope.post(
      `/api/v1/datasets/:id/${action}`,
      {
        config: write,
        schema: {
          tags,
          summary: action === 'archive' ? 'Archive a dataset (read-only until restored)' : 'Restore an archived dataset',
          params: DatasetParams,
          response: { 200: Envelope(Dataset) },
        },
      },
      async (request, reply) => {
        const ds = await datasets.setArchived(contextOf(request), request.params.id, action === 'archive');
        return sendEnvelope(request, reply, ds, {
          links: datasetLinks(ds.id),
          metadata: { resource_version: String(ds.resource_version) },
        });
      },
    );
  }
}
