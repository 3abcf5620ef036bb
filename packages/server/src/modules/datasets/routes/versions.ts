import {
  CreateVersion,
  DatasetParams,
  DatasetVersion,
  DiffParams,
  DiffQuery,
  Envelope,
  FinalizeVersion,
  ListQuery,
  UpdateVersion,
  VersionDiff,
  VersionParams,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import { ifMatchOf, notModified } from '../../../platform/http/etag.js';
import type { LoamApp } from '../../../platform/http/server.js';
import { resourceETag } from '../services/core.js';
import type { DatasetService } from '../services/datasets.js';

import { base, bodyOptional, read, tags, write } from './shared.js';

const versionLinks = (id: string, vid: string) => ({
  self: `${base(id)}/versions/${vid}`,
  dataset: base(id),
  records: `${base(id)}/records?version=${vid}`,
});

/** Versions: finalize the draft, list, get, update, delete, deprecate, diff. */
export function versionRoutes(scope: LoamApp, datasets: DatasetService): void {
  scope.post(
    '/api/v1/datasets/:id/versions',
    {
      ...bodyOptional,
      config: write,
      schema: {
        tags,
        summary: 'Finalize the working draft into an immutable version (or, with draft: true, open a draft version to finalize later)',
        params: DatasetParams,
        body: CreateVersion,
        response: { 201: Envelope(DatasetVersion) },
      },
    },
    async (request, reply) => {
      const v = await datasets.versions.finalize(contextOf(request), request.params.id, request.body);
      return sendEnvelope(request, reply, v, {
        status: 201,
        location: versionLinks(v.dataset_id, v.id).self,
        links: versionLinks(v.dataset_id, v.id),
      });
    },
  );

  finalizeRoute(scope, datasets);

  scope.get(
    '/api/v1/datasets/:id/versions',
    {
      config: read,
      schema: {
        tags,
        summary: 'List versions',
        params: DatasetParams,
        querystring: ListQuery,
        response: { 200: Envelope(Type.Array(DatasetVersion)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await datasets.versions.listVersions(contextOf(request), request.params.id, request.query);
      return sendEnvelope(request, reply, items, { pagination, links: { self: `${base(request.params.id)}/versions` } });
    },
  );

  scope.get(
    '/api/v1/datasets/:id/versions/:vid',
    { config: read, schema: { tags, summary: 'Get a version', params: VersionParams, response: { 200: Envelope(DatasetVersion) } } },
    async (request, reply) => {
      const v = await datasets.versions.getVersion(contextOf(request), request.params.id, request.params.vid);
      if (notModified(request, reply, resourceETag(v.resource_version))) return reply;
      if (v.status === 'deprecated' && v.deprecated_at) reply.header('deprecation', `@${Math.floor(Date.parse(v.deprecated_at) / 1000)}`);
      return sendEnvelope(request, reply, v, {
        links: versionLinks(v.dataset_id, v.id),
        metadata: { resource_version: String(v.resource_version) },
      });
    },
  );

  scope.patch(
    '/api/v1/datasets/:id/versions/:vid',
    {
      config: write,
      schema: {
        tags,
        summary: 'Update a version’s description and tags',
        params: VersionParams,
        body: UpdateVersion,
        response: { 200: Envelope(DatasetVersion) },
      },
    },
    async (request, reply) => {
      const v = await datasets.versions.updateVersion(
        contextOf(request),
        request.params.id,
        request.params.vid,
        request.body,
        ifMatchOf(request),
      );
      reply.header('etag', resourceETag(v.resource_version));
      return sendEnvelope(request, reply, v, { links: versionLinks(v.dataset_id, v.id) });
    },
  );

  scope.delete(
    '/api/v1/datasets/:id/versions/:vid',
    { config: write, schema: { tags, summary: 'Delete a version (409 if something derives from it)', params: VersionParams } },
    async (request, reply) => {
      await datasets.versions.deleteVersion(contextOf(request), request.params.id, request.params.vid, ifMatchOf(request));
      return reply.code(204).send();
    },
  );

  scope.post(
    '/api/v1/datasets/:id/versions/:vid/deprecate',
    {
      config: write,
      schema: { tags, summary: 'Deprecate a version', params: VersionParams, response: { 200: Envelope(DatasetVersion) } },
    },
    async (request, reply) => {
      const v = await datasets.versions.deprecateVersion(contextOf(request), request.params.id, request.params.vid);
      return sendEnvelope(request, reply, v, { links: versionLinks(v.dataset_id, v.id) });
    },
  );

  scope.get(
    '/api/v1/datasets/:id/versions/:vid/diff/:vid2',
    {
      config: read,
      schema: {
        tags,
        summary: 'Records added, removed and modified between two versions (`draft` names the working draft)',
        params: DiffParams,
        querystring: DiffQuery,
        response: { 200: Envelope(VersionDiff) },
      },
    },
    async (request, reply) => {
      const { id, vid, vid2 } = request.params;
      const { diff, pagination } = await datasets.versions.diff(contextOf(request), id, vid, vid2, request.query);
      const self = `${base(id)}/versions/${vid}/diff/${vid2}`;
      return sendEnvelope(request, reply, diff, { pagination, links: { self } });
    },
  );
}

/** `POST …/versions/{vid}/finalize`: closes a draft version (one created with `draft: true`). */
function finalizeRoute(scope: LoamApp, datasets: DatasetService): void {
  scope.post(
    '/api/v1/datasets/:id/versions/:vid/finalize',
    {
      ...bodyOptional,
      config: write,
      schema: {
        tags,
        summary: 'Finalize a draft version: its records, record count and checksum are fixed from now on',
        params: VersionParams,
        body: FinalizeVersion,
        response: { 200: Envelope(DatasetVersion) },
      },
    },
    async (request, reply) => {
      const { id, vid } = request.params;
      const v = await datasets.versions.finalizeDraft(contextOf(request), id, vid, request.body ?? {});
      return sendEnvelope(request, reply, v, { links: versionLinks(id, vid) });
    },
  );
}
