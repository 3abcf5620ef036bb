import { create } from '@bufbuild/protobuf';
import { Code, type ConnectRouter, ConnectError } from '@connectrpc/connect';
import type { RecordQuery } from '@loam/api';
import { RecordQuery as RecordQuerySchema } from '@loam/api';
import {
  BulkInsertRecordsResponseSchema,
  DatasetService,
  ProcessOptionsSchema,
  type ProcessRecordsRequest,
  type BulkInsertRecordsRequest,
  QueryRecordsResponseSchema,
  type Record as RecordMessage,
} from '@loam/api/grpc';
import { Value } from '@sinclair/typebox/value';
import { AppError } from '../../platform/errors.js';
import { BULK_CHUNK, type RecordPart, packRecords } from '../datasets/bulk-format.js';
import type { DatasetService as Datasets } from '../datasets/services/datasets.js';
import type { StreamedRecord } from '../datasets/services/records.js';
import type { PrivacyService } from '../privacy/service.js';
import { type CallContexts, clientReset } from './call-context.js';
import { datasetMessage, filterOf, recordMessage, streamedMessage } from './convert.js';
import { RecordProcessor } from './process.js';
import { abortable } from './streams.js';

const READ = ['datasets:read'] as const;
const WRITE = ['datasets:write'] as const;
/**
 * Records StreamRecords reads at a time. Small: a page lives while its records are written one
 * message at a time, and a page that lives through two scavenges is promoted to V8's old space,
 * which then grows with the records streamed (bench/RESULTS.md).
 */
const STREAM_PAGE = 200;
/**
 * Records in one part of a BulkInsertRecords stream handed to the datasets service (client
 * messages are re-chunked to this): the REST bulk insert's chunk, so both insert alike.
 */
const INSERT_CHUNK = BULK_CHUNK;

export interface DatasetRpcDeps {
  datasets: Datasets;
  privacy: PrivacyService;
  contexts: CallContexts;
  maxBulkRecords: number;
}

const required = (value: string, field: string): string => {
  if (value === '')
    throw new AppError('validation_error', 400, `${field} is required`, [{ field, code: 'required', message: `${field} is required` }]);
  return value;
};

/**
 * `llm_data_vault.v1.DatasetService` on a Connect router: each RPC builds the caller's context
 * as REST does and calls the datasets service the REST routes call, so both answer alike.
 */
export function registerDatasetService(router: ConnectRouter, deps: DatasetRpcDeps): void {
  const { datasets, contexts } = deps;
  router.service(DatasetService, {
    getDataset: async (req, call) => {
      const ctx = await contexts.of(call, READ);
      return datasetMessage(await datasets.get(ctx, required(req.datasetId, 'dataset_id')));
    },

    getRecord: async (req, call) => {
      const ctx = await contexts.of(call, READ);
      const { etag: _, ...record } = await datasets.records.getRecord(
        ctx,
        required(req.datasetId, 'dataset_id'),
        required(req.recordId, 'record_id'),
        req.versionId || undefined,
      );
      return recordMessage(record);
    },

    queryRecords: async (req, call) => {
      const ctx = await contexts.of(call, READ);
      const query: RecordQuery = {
        ...(req.filter ? { filter: filterOf(req.filter) as RecordQuery['filter'] } : {}),
        ...(req.sort ? { sort: req.sort } : {}),
        ...(req.versionId ? { version: req.versionId } : {}),
        ...(req.limit ? { limit: req.limit } : {}),
        ...(req.cursor ? { cursor: req.cursor } : {}),
      };
      // The REST query's schema, so a limit or sort refused there is refused here.
      const error = Value.Errors(RecordQuerySchema, query).First();
      if (error) {
        const field = error.path.slice(1).replace(/\//g, '.') || 'request';
        throw new AppError('validation_error', 400, `${field}: ${error.message}`, [
          { field, code: 'invalid_value', message: error.message },
        ]);
      }
      const page = await datasets.records.queryRecords(ctx, required(req.datasetId, 'dataset_id'), query);
      return create(QueryRecordsResponseSchema, { records: page.items.map(recordMessage), nextCursor: page.pagination.cursor ?? '' });
    },

    streamRecords: async function* (req, call) {
      const ctx = await contexts.of(call, READ);
      const pages = datasets.records.streamRecords(
        ctx,
        required(req.datasetId, 'dataset_id'),
        { version: req.versionId || undefined, filter: filterOf(req.filter) },
        { signal: call.signal, pageSize: STREAM_PAGE },
      );
      for await (const page of pages)
        for (let i = 0; i < page.length; i++) {
          const record = page[i];
          page[i] = undefined as unknown as StreamedRecord; // sent: not kept until the page ends
          yield streamedMessage(record);
        }
    },

    bulkInsertRecords: async (requests, call) => {
      const ctx = await contexts.of(call, WRITE);
      const messages = abortable(requests, call.signal);
      let first: IteratorResult<BulkInsertRecordsRequest> | undefined = await messages.next();
      if (first.done) throw new AppError('validation_error', 400, 'Send at least one record');
      const id = required(first.value.datasetId, 'dataset_id');
      const parts = insertParts(first.value, messages, call.values.get(clientReset));
      first = undefined; // its records are kept only until they are packed
      const result = await datasets.records.insertRecordStream(ctx, id, parts, { max: deps.maxBulkRecords, signal: call.signal });
      return create(BulkInsertRecordsResponseSchema, { inserted: BigInt(result.inserted), ids: result.ids });
    },

    processRecords: async function* (requests, call) {
      const ctx = await contexts.of(call, READ);
      const messages = abortable(requests, call.signal);
      const first = await messages.next();
      if (first.done) return;
      const dataset = await datasets.get(ctx, required(first.value.datasetId, 'dataset_id'));
      await datasets.authorizeRecords(ctx, dataset.id, 'datasets:read');
      const processor = new RecordProcessor(
        deps.privacy,
        ctx,
        dataset,
        first.value.options ?? create(ProcessOptionsSchema, { validate: true }),
      );
      let index = 0;
      for (let m: IteratorResult<ProcessRecordsRequest> = first; !m.done; m = await messages.next())
        for (const record of m.value.records) yield await processor.process(record, index++);
    },
  });
}

/**
 * The records of a BulkInsertRecords stream, packed in parts of INSERT_CHUNK for the datasets
 * service. Each message is packed whole as soon as it is decoded (its records short of a part
 * carried to the next), so its decoded records die young instead of waiting, through the
 * stream's back-pressure, for their part to be read (and being promoted to V8's old space).
 */
async function* insertParts(
  first: BulkInsertRecordsRequest | undefined,
  rest: AsyncIterator<BulkInsertRecordsRequest>,
  reset: () => boolean,
): AsyncGenerator<RecordPart> {
  let chunk: RecordMessage[] = [];
  let records = first?.records;
  first = undefined;
  while (records) {
    const parts: RecordPart[] = [];
    for (let i = 0; i < records.length; i++) {
      chunk.push(records[i]);
      if (chunk.length === INSERT_CHUNK) {
        parts.push(packRecords(chunk));
        chunk = [];
      }
    }
    records = undefined;
    yield* parts;
    const m = await rest.next();
    if (!m.done) records = m.value.records;
  }
  // A Node client's cancel (or passed deadline) is an end of stream and then a reset, which the
  // server learns of a few turns of the event loop later: give it those before the last part
  // (before it, nothing commits).
  for (let turn = 0; turn < 3 && !reset(); turn++) await new Promise((resolve) => setImmediate(resolve));
  if (reset()) throw new ConnectError('the client cancelled the upload', Code.Canceled);
  if (chunk.length > 0) yield packRecords(chunk);
}
