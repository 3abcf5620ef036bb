import { create } from '@bufbuild/protobuf';
import { type Timestamp, timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { Dataset, DatasetRecord } from '@loam/api';
import { type Dataset as DatasetMessage, DatasetSchema, type Record as RecordMessage, RecordSchema } from '@loam/api/grpc';
import { AppError } from '../../platform/errors.js';
import type { StreamedRecord } from '../datasets/services/records.js';

/** The REST representations (@loam/api) as the proto's messages: one mapping, so both APIs answer alike. */

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

// Records stored together share their times: the last one parsed is kept (messages may share it).
let lastText = '';
let lastTimestamp: Timestamp | undefined;
function timestamp(rfc3339: string): Timestamp {
  if (rfc3339 !== lastText || !lastTimestamp) {
    lastTimestamp = timestampFromMs(Date.parse(rfc3339));
    lastText = rfc3339;
  }
  return lastTimestamp;
}
let lastMs = Number.NaN;
let lastMsTimestamp: Timestamp | undefined;
/** Epoch ms as a Timestamp of whole seconds (as the REST times are written). */
function timestampOfMs(ms: number): Timestamp {
  if (ms !== lastMs || !lastMsTimestamp) {
    lastMsTimestamp = timestampFromMs(ms - (((ms % 1000) + 1000) % 1000));
    lastMs = ms;
  }
  return lastMsTimestamp;
}

export function datasetMessage(d: Dataset): DatasetMessage {
  return create(DatasetSchema, {
    id: d.id,
    name: d.name,
    description: d.description ?? '',
    schema: { fields: d.schema.fields.map((f) => ({ ...f, pii: f.pii ?? '', description: f.description ?? '' })) },
    tags: d.tags,
    classification: d.classification,
    status: d.status,
    recordCount: BigInt(d.record_count),
    latestVersionId: d.latest_version_id ?? '',
    encryptedFields: d.encrypted_fields,
    createdAt: timestamp(d.created_at),
    updatedAt: timestamp(d.updated_at),
    insertPolicy: Object.fromEntries(Object.entries(d.insert_policy?.fields ?? {}).map(([f, op]) => [f, op.type])),
  });
}

/** A stored record: `data` is its JSON text. */
export function recordMessage(r: DatasetRecord): RecordMessage {
  return create(RecordSchema, {
    id: r.id,
    data: utf8.encode(JSON.stringify(r.data)),
    attributes: { revision: String(r.revision) },
    revision: BigInt(r.revision),
    createdAt: timestamp(r.created_at),
    updatedAt: timestamp(r.updated_at),
  });
}

/** A record StreamRecords read (its data as stored JSON text: not parsed to be written again). */
export function streamedMessage(r: StreamedRecord): RecordMessage {
  return create(RecordSchema, {
    id: r.id,
    data: utf8.encode(r.json),
    attributes: { revision: String(r.revision) },
    revision: BigInt(r.revision),
    createdAt: timestampOfMs(r.createdAt),
    updatedAt: timestampOfMs(r.updatedAt),
  });
}

/** A record's `data` bytes as the JSON value they hold; a 400 naming the record (`[i].data`) if they are not JSON. */
export function recordData(data: Uint8Array, i: number): unknown {
  try {
    return JSON.parse(fromUtf8.decode(data));
  } catch (err) {
    throw new AppError('validation_error', 400, `record ${i}: data is not UTF-8 JSON`, [
      { field: `[${i}].data`, code: 'invalid_json', message: `record ${i}: ${(err as Error).message}` },
    ]);
  }
}

/** A JSON filter field (empty = none); a 400 if it is not JSON. */
export function filterOf(filter: string): unknown {
  if (filter === '') return undefined;
  try {
    return JSON.parse(filter);
  } catch (err) {
    throw new AppError('invalid_filter', 400, `filter is not JSON: ${(err as Error).message}`, [
      { field: 'filter', code: 'invalid_json', message: (err as Error).message },
    ]);
  }
}
