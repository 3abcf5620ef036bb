import {
  CreateDataset,
  CreateExport,
  CreateIndex,
  CreateVersion,
  Dataset,
  DatasetExport,
  DatasetImport,
  DatasetIndex,
  DatasetParams,
  DatasetRecord,
  DatasetStats,
  DatasetVersion,
  DiffParams,
  DiffQuery,
  Envelope,
  GetRecordQuery,
  IdParams,
  ImportError,
  ImportQuery,
  InsertRecords,
  InsertRecordsResult,
  Job,
  Lineage,
  ListDatasetsQuery,
  ListQuery,
  ListRecordsQuery,
  MAX_RECORDS_PER_CALL,
  type NewRecord,
  RecordParams,
  RecordQuery,
  SubResourceParams,
  UpdateDataset,
  UpdateRecord,
  UpdateVersion,
  VersionDiff,
  VersionParams,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { mediaTypeOf } from '../../platform/blob/index.js';
import { principalOf, sendEnvelope } from '../../platform/http/context.js';
import { ifMatchOf, notModified } from '../../platform/http/etag.js';
import { AppError } from '../../platform/http/errors.js';
import { RawBody } from '../../platform/http/lazy-compilers.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { Platform } from '../../platform/index.js';
import { toJob } from '../jobs/routes.js';
import { BULK_MIN_BYTES, JSON_PARSE_OPTIONS, parseNdjson } from './bulk.js';
import { resourceETag } from './services/core.js';
import type { DatasetService } from './services/datasets.js';
import type { DatasetTransfers } from './transfers.js';

const read = { auth: { scopes: ['datasets:read'] } } as const;
const write = { auth: { scopes: ['datasets:write'] } } as const;
const tags = ['Datasets'];
const NDJSON = 'application/x-ndjson';

const base = (id: string) => `/api/v1/datasets/${id}`;
const datasetLinks = (id: string) => ({
  self: base(id),
  versions: `${base(id)}/versions`,
  records: `${base(id)}/records`,
  stats: `${base(id)}/stats`,
  lineage: `${base(id)}/lineage`,
});

/** POSTs whose fields are all optional may come without a body. */
const bodyOptional = {
  preValidation: async (request: FastifyRequest) => {
    if (request.body === undefined || request.body === null) request.body = {};
  },
};

const isImportRoute = (request: FastifyRequest) => (request.routeOptions.url ?? '').endsWith('/records/import');

/** A bulk insert large enough to be parsed off the event loop (a JSON body only if it is an array). */
function isLargeInsert(request: FastifyRequest, body: Buffer, format: RawBody['format']): boolean {
  if (request.method !== 'POST' || request.routeOptions.url !== '/api/v1/datasets/:id/records' || body.length < BULK_MIN_BYTES)
    return false;
  if (format === 'ndjson') return true;
  let i = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (body[i] === 0x20 || body[i] === 0x0a || body[i] === 0x0d || body[i] === 0x09) i++;
  return body[i] === 0x5b; // '['; an object may be a request envelope, parsed as usual
}

export async function datasetRoutes(
  app: LoamApp,
  platform: Platform,
  datasets: DatasetService,
  transfers: DatasetTransfers,
): Promise<void> {
  const jobEnvelope = async (request: FastifyRequest, jobId: string) => {
    const job = await platform.jobs.get(jobId, principalOf(request).tenantId);
    if (!job) throw new AppError('internal_error', 500, 'The job vanished');
    return toJob(job);
  };

  await app.register(async (instance) => {
    const scope = instance as unknown as LoamApp;
    // Encapsulated: these parsers serve only the dataset routes. Imports keep the raw file; a large
    // bulk insert is handed to its handler unparsed (parsed on a worker thread, bulk.ts).
    const parseJson = scope.getDefaultJsonParser(JSON_PARSE_OPTIONS.protoAction, JSON_PARSE_OPTIONS.constructorAction);
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
      if (isLargeInsert(request, body as Buffer, 'json')) return done(null, new RawBody(body as Buffer, 'json'));
      parseJson(request, (body as Buffer).toString('utf8'), done);
    });
    scope.addContentTypeParser(NDJSON, { parseAs: 'buffer' }, (request, body, done) => {
      if (isImportRoute(request)) return done(null, body);
      if (isLargeInsert(request, body as Buffer, 'ndjson')) return done(null, new RawBody(body as Buffer, 'ndjson'));
      try {
        done(null, parseNdjson((body as Buffer).toString('utf8')));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
    scope.addContentTypeParser(['text/csv', 'application/csv'], { parseAs: 'buffer' }, (request, body, done) => {
      if (!isImportRoute(request)) return done(new AppError('unsupported_media_type', 415, 'CSV is accepted only by records/import'));
      done(null, body);
    });

    // ---- datasets ----

    scope.post(
      '/api/v1/datasets',
      { config: write, schema: { tags, summary: 'Create a dataset', body: CreateDataset, response: { 201: Envelope(Dataset) } } },
      async (request, reply) => {
        const ds = await datasets.create(principalOf(request), request.body);
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
        const { items, pagination } = await datasets.list(principalOf(request), request.query);
        const links: Record<string, string> = { self: '/api/v1/datasets' };
        if (pagination.cursor) {
          const q = new URLSearchParams(Object.entries({ ...request.query, cursor: pagination.cursor }).map(([k, v]) => [k, String(v)]));
          links.next = `/api/v1/datasets?${q}`;
        }
        return sendEnvelope(request, reply, items, { pagination, links });
      },
    );

    scope.get(
      '/api/v1/datasets/:id',
      { config: read, schema: { tags, summary: 'Get a dataset', params: DatasetParams, response: { 200: Envelope(Dataset) } } },
      async (request, reply) => {
        const ds = await datasets.get(principalOf(request), request.params.id);
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
        const ds = await datasets.update(principalOf(request), request.params.id, request.body, ifMatchOf(request));
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
        await datasets.remove(principalOf(request), request.params.id, ifMatchOf(request));
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
          const ds = await datasets.setArchived(principalOf(request), request.params.id, action === 'archive');
          return sendEnvelope(request, reply, ds, {
            links: datasetLinks(ds.id),
            metadata: { resource_version: String(ds.resource_version) },
          });
        },
      );
    }

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
        const stats = await datasets.stats.get(principalOf(request), request.params.id, request.query.version);
        return sendEnvelope(request, reply, stats, {
          links: { self: `${base(request.params.id)}/stats`, dataset: base(request.params.id) },
        });
      },
    );

    scope.get(
      '/api/v1/datasets/:id/lineage',
      {
        config: read,
        schema: { tags, summary: 'Lineage graph of a dataset', params: DatasetParams, response: { 200: Envelope(Lineage) } },
      },
      async (request, reply) => {
        const graph = await datasets.lineage.get(principalOf(request), request.params.id);
        return sendEnvelope(request, reply, graph, {
          links: { self: `${base(request.params.id)}/lineage`, dataset: base(request.params.id) },
        });
      },
    );

    // ---- versions ----

    const versionLinks = (id: string, vid: string) => ({
      self: `${base(id)}/versions/${vid}`,
      dataset: base(id),
      records: `${base(id)}/records?version=${vid}`,
    });

    scope.post(
      '/api/v1/datasets/:id/versions',
      {
        ...bodyOptional,
        config: write,
        schema: {
          tags,
          summary: 'Finalize the working draft into an immutable version',
          params: DatasetParams,
          body: CreateVersion,
          response: { 201: Envelope(DatasetVersion) },
        },
      },
      async (request, reply) => {
        const v = await datasets.versions.finalize(principalOf(request), request.params.id, request.body);
        return sendEnvelope(request, reply, v, {
          status: 201,
          location: versionLinks(v.dataset_id, v.id).self,
          links: versionLinks(v.dataset_id, v.id),
        });
      },
    );

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
        const { items, pagination } = await datasets.versions.listVersions(principalOf(request), request.params.id, request.query);
        const links: Record<string, string> = { self: `${base(request.params.id)}/versions` };
        if (pagination.cursor)
          links.next = `${links.self}?${new URLSearchParams({ limit: String(request.query.limit ?? 100), cursor: pagination.cursor })}`;
        return sendEnvelope(request, reply, items, { pagination, links });
      },
    );

    scope.get(
      '/api/v1/datasets/:id/versions/:vid',
      { config: read, schema: { tags, summary: 'Get a version', params: VersionParams, response: { 200: Envelope(DatasetVersion) } } },
      async (request, reply) => {
        const v = await datasets.versions.getVersion(principalOf(request), request.params.id, request.params.vid);
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
          principalOf(request),
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
        await datasets.versions.deleteVersion(principalOf(request), request.params.id, request.params.vid, ifMatchOf(request));
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
        const v = await datasets.versions.deprecateVersion(principalOf(request), request.params.id, request.params.vid);
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
        const { diff, pagination } = await datasets.versions.diff(principalOf(request), id, vid, vid2, request.query);
        const self = `${base(id)}/versions/${vid}/diff/${vid2}`;
        const links: Record<string, string> = { self };
        if (pagination.cursor)
          links.next = `${self}?${new URLSearchParams({
            limit: String(request.query.limit ?? 100),
            ...(request.query.fields ? { fields: 'true' } : {}),
            cursor: pagination.cursor,
          })}`;
        return sendEnvelope(request, reply, diff, { pagination, links });
      },
    );

    // ---- records ----

    scope.post(
      '/api/v1/datasets/:id/records',
      {
        config: write,
        schema: {
          tags,
          summary: `Insert up to ${MAX_RECORDS_PER_CALL} records atomically (JSON array or NDJSON)`,
          params: DatasetParams,
          body: InsertRecords,
          response: { 201: Envelope(InsertRecordsResult) },
        },
      },
      async (request, reply) => {
        const result = await datasets.records.insertRecords(principalOf(request), request.params.id, request.body as NewRecord[] | RawBody);
        const self = `${base(request.params.id)}/records`;
        return sendEnvelope(request, reply, result, { status: 201, location: self, links: { records: self } });
      },
    );

    const recordsPage = async (request: FastifyRequest, id: string, query: Parameters<DatasetService['records']['queryRecords']>[2]) => {
      const result = await datasets.records.queryRecords(principalOf(request), id, query);
      const links: Record<string, string> = { self: `${base(id)}/records` };
      if (result.pagination.cursor) {
        const q = new URLSearchParams();
        if (query.filter !== undefined) q.set('filter', JSON.stringify(query.filter));
        if (query.sort) q.set('sort', query.sort);
        if (query.fields) q.set('fields', query.fields.join(','));
        if (query.version) q.set('version', query.version);
        q.set('limit', String(query.limit ?? 100));
        q.set('cursor', result.pagination.cursor);
        links.next = `${base(id)}/records?${q}`;
      }
      return { result, links };
    };

    scope.get(
      '/api/v1/datasets/:id/records',
      {
        config: read,
        schema: {
          tags,
          summary: 'List or filter records (`?filter=<json>`, sort, fields, version, cursor)',
          params: DatasetParams,
          querystring: ListRecordsQuery,
          response: { 200: Envelope(Type.Array(DatasetRecord)) },
        },
      },
      async (request, reply) => {
        const q = request.query;
        let filter: unknown;
        if (q.filter !== undefined) {
          try {
            filter = JSON.parse(q.filter);
          } catch {
            throw new AppError('invalid_param', 400, 'filter must be a JSON object', [
              { field: 'filter', code: 'invalid_format', message: 'filter must be a JSON object' },
            ]);
          }
        }
        const fields = q.fields
          ?.split(',')
          .map((f) => f.trim())
          .filter(Boolean);
        const { result, links } = await recordsPage(request, request.params.id, { ...q, filter, fields });
        return sendEnvelope(request, reply, result.items, { pagination: result.pagination, links });
      },
    );

    scope.post(
      '/api/v1/datasets/:id/records/query',
      {
        config: read,
        schema: {
          tags,
          summary: 'Query records with a JSON filter',
          params: DatasetParams,
          body: RecordQuery,
          response: { 200: Envelope(Type.Array(DatasetRecord)) },
        },
      },
      async (request, reply) => {
        const { result, links } = await recordsPage(request, request.params.id, request.body);
        return sendEnvelope(request, reply, result.items, { pagination: result.pagination, links });
      },
    );

    scope.get(
      '/api/v1/datasets/:id/records/:rid',
      {
        config: read,
        schema: {
          tags,
          summary: 'Get a record',
          params: RecordParams,
          querystring: GetRecordQuery,
          response: { 200: Envelope(DatasetRecord) },
        },
      },
      async (request, reply) => {
        const { etag, ...record } = await datasets.records.getRecord(
          principalOf(request),
          request.params.id,
          request.params.rid,
          request.query.version,
        );
        if (notModified(request, reply, etag)) return reply;
        return sendEnvelope(request, reply, record, {
          links: { self: `${base(request.params.id)}/records/${record.id}`, dataset: base(request.params.id) },
        });
      },
    );

    scope.patch(
      '/api/v1/datasets/:id/records/:rid',
      {
        config: write,
        schema: {
          tags,
          summary: 'Merge-patch a record’s data (If-Match → 412 on mismatch)',
          params: RecordParams,
          body: UpdateRecord,
          response: { 200: Envelope(DatasetRecord) },
        },
      },
      async (request, reply) => {
        const { etag, ...record } = await datasets.records.updateRecord(
          principalOf(request),
          request.params.id,
          request.params.rid,
          request.body.data,
          ifMatchOf(request),
        );
        reply.header('etag', etag);
        return sendEnvelope(request, reply, record, { links: { self: `${base(request.params.id)}/records/${record.id}` } });
      },
    );

    scope.delete(
      '/api/v1/datasets/:id/records/:rid',
      { config: write, schema: { tags, summary: 'Delete a record (If-Match honoured)', params: RecordParams } },
      async (request, reply) => {
        await datasets.records.deleteRecord(principalOf(request), request.params.id, request.params.rid, ifMatchOf(request));
        return reply.code(204).send();
      },
    );

    // ---- indexes ----

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
        const idx = await datasets.indexes.createIndex(principalOf(request), request.params.id, request.body.field);
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
        const items = await datasets.indexes.listIndexes(principalOf(request), request.params.id);
        return sendEnvelope(request, reply, items, { links: { self: `${base(request.params.id)}/indexes` } });
      },
    );

    scope.delete(
      '/api/v1/datasets/:id/indexes/:sid',
      { config: write, schema: { tags, summary: 'Drop a field index', params: SubResourceParams } },
      async (request, reply) => {
        await datasets.indexes.deleteIndex(principalOf(request), request.params.id, request.params.sid);
        return reply.code(204).send();
      },
    );

    // ---- import and export ----

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
        const { exportId, jobId } = await transfers.startExport(principalOf(request), request.params.id, request.body);
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
        const principal = principalOf(request);
        let started: { importId: string; jobId: string };
        if (typeof request.body === 'string')
          throw new AppError('unsupported_media_type', 415, 'Send the file as application/x-ndjson or text/csv');
        if (Buffer.isBuffer(request.body)) {
          const format = request.query.format ?? (type === NDJSON ? 'ndjson' : 'csv');
          started = await transfers.startImport(principal, request.params.id, { body: request.body, format }, request.query.id_field);
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
            principal,
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
        const imp = await transfers.getImport(principalOf(request), request.params.id, request.params.sid);
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
        const { items, pagination } = await transfers.importErrors(
          principalOf(request),
          request.params.id,
          request.params.sid,
          request.query,
        );
        const self = `${base(request.params.id)}/imports/${request.params.sid}/errors`;
        const links: Record<string, string> = { self };
        if (pagination.cursor)
          links.next = `${self}?${new URLSearchParams({ limit: String(request.query.limit ?? 100), cursor: pagination.cursor })}`;
        return sendEnvelope(request, reply, items, { pagination, links });
      },
    );

    scope.get(
      '/api/v1/exports/:id',
      {
        config: read,
        schema: { tags, summary: 'An export and its download URL', params: IdParams, response: { 200: Envelope(DatasetExport) } },
      },
      async (request, reply) => {
        const exp = await transfers.getExport(principalOf(request), request.params.id);
        return sendEnvelope(request, reply, exp, {
          links: { self: `/api/v1/exports/${exp.id}`, download: `/api/v1/exports/${exp.id}/download`, dataset: base(exp.dataset_id) },
        });
      },
    );

    scope.get(
      '/api/v1/exports/:id/download',
      { config: read, schema: { tags, summary: 'Download an export file', params: IdParams } },
      async (request, reply) => {
        const file = await transfers.downloadExport(principalOf(request), request.params.id);
        return reply.type(file.contentType).header('content-disposition', `attachment; filename="${file.filename}"`).send(file.body);
      },
    );
  });
}
