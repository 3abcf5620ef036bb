import {
  DatasetParams,
  DatasetRecord,
  Envelope,
  GetRecordQuery,
  InsertRecords,
  InsertRecordsResult,
  ListRecordsQuery,
  MAX_RECORDS_PER_CALL,
  type NewRecord,
  RecordParams,
  RecordQuery,
  UpdateRecord,
} from '@loam/api';
import { Type } from '@sinclair/typebox';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import { ifMatchOf, notModified } from '../../../platform/http/etag.js';
import { AppError } from '../../../platform/errors.js';
import type { RawBody } from '../../../platform/http/lazy-compilers.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { DatasetService } from '../services/datasets.js';

import { base, read, tags, write } from './shared.js';

/** The GET URL that lists what a `POST …/records/query` body asks for (its links page on it). */
const recordsUrl = (id: string, query: RecordQuery): string => {
  const q = new URLSearchParams();
  if (query.filter !== undefined) q.set('filter', JSON.stringify(query.filter));
  if (query.sort) q.set('sort', query.sort);
  if (query.fields) q.set('fields', query.fields.join(','));
  if (query.version) q.set('version', query.version);
  if (query.limit !== undefined) q.set('limit', String(query.limit));
  if (query.count) q.set('count', 'true');
  return `${base(id)}/records?${q}`;
};

/** Records: insert (JSON array or NDJSON, large bodies parsed on a worker), query, get, patch, delete. */
export function recordRoutes(scope: LoamApp, datasets: DatasetService): void {
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
      const result = await datasets.records.insertRecords(contextOf(request), request.params.id, request.body as NewRecord[] | RawBody);
      const self = `${base(request.params.id)}/records`;
      return sendEnvelope(request, reply, result, { status: 201, location: self, links: { records: self } });
    },
  );

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
      const result = await datasets.records.queryRecords(contextOf(request), request.params.id, { ...q, filter, fields });
      return sendEnvelope(request, reply, result.items, {
        pagination: result.pagination,
        links: { self: `${base(request.params.id)}/records` },
      });
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
      const { id } = request.params;
      const result = await datasets.records.queryRecords(contextOf(request), id, request.body);
      return sendEnvelope(request, reply, result.items, {
        pagination: result.pagination,
        links: { self: `${base(id)}/records` },
        pageUrl: recordsUrl(id, request.body),
      });
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
        contextOf(request),
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
        contextOf(request),
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
      await datasets.records.deleteRecord(contextOf(request), request.params.id, request.params.rid, ifMatchOf(request));
      return reply.code(204).send();
    },
  );
}
