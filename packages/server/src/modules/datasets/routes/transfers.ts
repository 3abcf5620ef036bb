import {
  CreateExport,
  DatasetExport,
  DatasetImport,
  DatasetParams,
  Envelope,
  IdParams,
  ImportError,
  ImportQuery,
  Job,
  ListQuery,
  SubResourceParams,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { mediaTypeOf } from '../../../platform/blob/index.js';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import { AppError } from '../../../platform/errors.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { Platform } from '../../../platform/index.js';
import { toJob } from '../../jobs/routes.js';
import type { DatasetTransfers } from '../transfers.js';

import { NDJSON, base, bodyOptional, read, tags, write } from './shared.js';

/** Imports and exports of records, run as jobs. */
export function transferRoutes(scope: LoamApp, platform: Platform, transfers: DatasetTransfers): void {
  const jobEnvelope = async (request: FastifyRequest, jobId: string) => {
    const job = await platform.jobs.get(jobId, contextOf(request).tenantId);
    if (!job) throw new AppError('internal_error', 500, 'The job vanished');
    return toJob(job);
  };

  scope.post(
    '/api/v1/datasets/:id/records/export',
    {
      ...bodyOptional,
      config: read,
      schema: {
        tags,
        summary: 'Export records (ndjson, csv or json) as a job',
        params: DatasetParams,
        body: CreateExport,
        response: { 202: Envelope(Job) },
      },
    },
    async (request, reply) => {
      const { exportId, jobId } = await transfers.startExport(contextOf(request), request.params.id, request.body);
      return sendEnvelope(request, reply, await jobEnvelope(request, jobId), {
        status: 202,
        location: `/api/v1/jobs/${jobId}`,
        links: { job: `/api/v1/jobs/${jobId}`, export: `/api/v1/exports/${exportId}` },
      });
    },
  );

  scope.post(
    '/api/v1/datasets/:id/records/import',
    {
      config: write,
      schema: {
        tags,
        summary: 'Import an NDJSON or CSV file (the body, or `{"blob_key"}` of an uploaded object) as a job',
        params: DatasetParams,
        querystring: ImportQuery,
        response: { 202: Envelope(Job) },
      },
    },
    async (request, reply) => {
      const type = mediaTypeOf(request.headers['content-type']);
      const ctx = contextOf(request);
      let started: { importId: string; jobId: string };
      if (typeof request.body === 'string')
        throw new AppError('unsupported_media_type', 415, 'Send the file as application/x-ndjson or text/csv');
      if (Buffer.isBuffer(request.body)) {
        const format = request.query.format ?? (type === NDJSON ? 'ndjson' : 'csv');
        started = await transfers.startImport(ctx, request.params.id, { body: request.body, format }, request.query.id_field);
      } else {
        const body = request.body as { blob_key?: unknown; format?: unknown } | undefined;
        if (!body || typeof body.blob_key !== 'string' || (body.format !== 'ndjson' && body.format !== 'csv'))
          throw new AppError(
            'validation_error',
            400,
            'Send the file as application/x-ndjson or text/csv, or JSON {"blob_key", "format": "ndjson"|"csv"}',
            [{ field: 'blob_key', code: 'required_field_missing', message: 'blob_key and format are required for JSON bodies' }],
          );
        started = await transfers.startImport(
          ctx,
          request.params.id,
          { blobKey: body.blob_key, format: body.format },
          request.query.id_field,
        );
      }
      return sendEnvelope(request, reply, await jobEnvelope(request, started.jobId), {
        status: 202,
        location: `/api/v1/jobs/${started.jobId}`,
        links: { job: `/api/v1/jobs/${started.jobId}`, import: `${base(request.params.id)}/imports/${started.importId}` },
      });
    },
  );

  scope.get(
    '/api/v1/datasets/:id/imports/:sid',
    {
      config: read,
      schema: { tags, summary: 'Progress of an import', params: SubResourceParams, response: { 200: Envelope(DatasetImport) } },
    },
    async (request, reply) => {
      const imp = await transfers.getImport(contextOf(request), request.params.id, request.params.sid);
      const self = `${base(request.params.id)}/imports/${imp.id}`;
      return sendEnvelope(request, reply, imp, { links: { self, errors: `${self}/errors`, job: `/api/v1/jobs/${imp.job_id}` } });
    },
  );

  scope.get(
    '/api/v1/datasets/:id/imports/:sid/errors',
    {
      config: read,
      schema: {
        tags,
        summary: 'Per-line errors of an import',
        params: SubResourceParams,
        querystring: ListQuery,
        response: { 200: Envelope(Type.Array(ImportError)) },
      },
    },
    async (request, reply) => {
      const { items, pagination } = await transfers.importErrors(contextOf(request), request.params.id, request.params.sid, request.query);
      const self = `${base(request.params.id)}/imports/${request.params.sid}/errors`;
      return sendEnvelope(request, reply, items, { pagination, links: { self } });
    },
  );

  scope.get(
    '/api/v1/exports/:id',
    {
      config: read,
      schema: { tags, summary: 'An export and its download URL', params: IdParams, response: { 200: Envelope(DatasetExport) } },
    },
    async (request, reply) => {
      const exp = await transfers.getExport(contextOf(request), request.params.id);
      return sendEnvelope(request, reply, exp, {
        links: { self: `/api/v1/exports/${exp.id}`, download: `/api/v1/exports/${exp.id}/download`, dataset: base(exp.dataset_id) },
      });
    },
  );

  scope.get(
    '/api/v1/exports/:id/download',
    { config: read, schema: { tags, summary: 'Download an export file', params: IdParams } },
    async (request, reply) => {
      const file = await transfers.downloadExport(contextOf(request), request.params.id);
      return reply.type(file.contentType).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.body);
    },
  );
}
