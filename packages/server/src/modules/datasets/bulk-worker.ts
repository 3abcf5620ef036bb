/**
 * The bulk-insert worker thread (started by `BulkParser`, bulk.ts): parses a body in chunks,
 * validates each record against the body schema (with Fastify's own Ajv settings) and the
 * dataset's schema, and hands each chunk back prepared for storage. Nothing here touches the
 * database: the main thread inserts, in the call's transaction.
 */
import { parentPort } from 'node:worker_threads';
import { AjvCompiler } from '@fastify/ajv-compiler';
import { MAX_RECORDS_PER_CALL, NewRecord, RECORD_ID_PATTERN, type SchemaField } from '@loam/api';
import sjson from 'secure-json-parse';
import { Ids, systemRandom } from '../../platform/crypto/index.js';
import { AppError, type FieldError } from '../../platform/errors.js';
import { AJV_OPTIONS } from '../../platform/http/lazy-compilers.js';
import {
  BULK_CHUNK,
  type BodySchemaError,
  type BulkMessage,
  type BulkRequest,
  type BulkStreamRequest,
  JSON_PARSE_OPTIONS,
  type RecordPart,
  jsonArrayChunks,
  ndjsonItems,
} from './bulk-format.js';
import type { PlainRecord } from './protection.js';
import { checkNewRecord, recordDigest, recordProblems } from './records.js';

/** This module's own URL: what the worker thread imports. */
export const workerUrl = import.meta.url;

type Validate = ((data: unknown) => boolean) & { errors?: BodySchemaError[] | null };

/** Runs in the worker thread: answers each BulkRequest with its chunks, then its end or error. */
export function serve(): void {
  const port = parentPort;
  if (!port) throw new Error('serve() runs in a worker thread');
  const compile = (AjvCompiler as unknown as () => (ext: unknown, opts: unknown) => (route: unknown) => Validate)()({}, AJV_OPTIONS);
  const validate = compile({ schema: NewRecord, method: 'POST', url: '/api/v1/datasets/:id/records', httpPart: 'body' });
  const streams = new Map<number, StreamState>();
  port.on('message', (request: BulkRequest | BulkStreamRequest) => {
    if ('bytes' in request) for (const m of run(request, validate)) port.postMessage(m);
    else {
      const answer = streamed(streams, request);
      if (answer) port.postMessage(answer);
    }
  });
}

/** A streamed insert being checked: what carries over from one part to the next. */
interface StreamState {
  fields: SchemaField[];
  mode: BulkRequest['mode'];
  newId: () => string;
  /** Each id seen so far and the index of its record. */
  seen: Map<string, number>;
  /** The index of the next record on the stream. */
  index: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const RECORD_ID = new RegExp(RECORD_ID_PATTERN);

/** The answer to one message about a streamed insert (none to its start or a cancel). */
function streamed(streams: Map<number, StreamState>, m: BulkStreamRequest): BulkMessage | undefined {
  const { job } = m;
  if ('stream' in m) {
    const ids = new Ids({ now: () => m.stream.now }, systemRandom);
    streams.set(job, { fields: m.stream.fields, mode: m.stream.mode, newId: () => ids.new('rec'), seen: new Map(), index: 0 });
    return undefined;
  }
  const state = streams.get(job);
  if (!state) return undefined; // failed or given up: what is still on its way is dropped
  if (!('part' in m)) {
    streams.delete(job);
    return 'end' in m ? { job, done: true } : undefined;
  }
  try {
    const records = checkPart(state, m.part);
    return state.mode === 'records' ? { job, records } : packed(job, records);
  } catch (err) {
    streams.delete(job);
    return failed(job, err);
  }
}

/**
 * A part's records, checked as the REST bulk insert checks its items (data a JSON object valid
 * for the schema, ids well-formed and not repeated anywhere on the stream); a 400 listing the
 * part's problems, with each record's index on the stream.
 */
function checkPart(state: StreamState, part: RecordPart): PlainRecord[] {
  const problems: FieldError[] = [];
  const records: PlainRecord[] = [];
  for (let k = 0, start = 0; k < part.ids.length; start = part.ends[k++]) {
    const i = state.index++;
    const id = part.ids[k];
    let data: unknown;
    try {
      data = sjson.parse(utf8.decode(part.data.subarray(start, part.ends[k])), JSON_PARSE_OPTIONS);
    } catch (err) {
      problems.push({
        field: `[${i}].data`,
        code: 'invalid_json',
        message: `record ${i}: data is not UTF-8 JSON: ${(err as Error).message}`,
      });
      continue;
    }
    if (id !== '' && !RECORD_ID.test(id))
      problems.push({ field: `[${i}].id`, code: 'invalid_format', message: `record ${i}: id must match ${RECORD_ID_PATTERN}` });
    const record = checkNewRecord(state.fields, id === '' ? { data } : { id, data }, i, state.seen, state.newId, problems);
    if (problems.length === 0) records.push(record);
  }
  if (problems.length > 0) throw recordProblems(problems);
  return records;
}

function* chunksOf<T>(items: Iterable<T>, size: number): Generator<T[]> {
  let chunk: T[] = [];
  for (const item of items) {
    chunk.push(item);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

const countError = (keyword: 'minItems' | 'maxItems', limit: number): BodySchemaError => ({
  instancePath: '',
  schemaPath: `#/${keyword}`,
  keyword,
  params: { limit },
  message: `must NOT have ${keyword === 'minItems' ? 'fewer' : 'more'} than ${limit} items`,
});

/**
 * The messages for one body. What the call fails with follows the inline path's order: a syntax
 * error anywhere (Fastify's parser), else the first body-schema error (Fastify's validation), else
 * the records' problems (the service); a failing body is still read to its end to find the first.
 */
function* run(request: BulkRequest, validate: Validate): Generator<BulkMessage> {
  const { job, fields, now, mode } = request;
  const text = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength).toString('utf8');
  const ids = new Ids({ now: () => now }, systemRandom);
  const newId = () => ids.new('rec');
  const problems: FieldError[] = [];
  const seen = new Map<string, number>();
  let invalid: BodySchemaError[] | undefined;
  let index = 0;
  try {
    const chunks = request.format === 'json' ? jsonArrayChunks(text, BULK_CHUNK) : chunksOf(ndjsonItems(text), BULK_CHUNK);
    let total = 0;
    for (const chunk of chunks) {
      total += chunk.length;
      // Too many items is the array's error, before any of its items' (NDJSON: the parser's 413).
      if (total > MAX_RECORDS_PER_CALL && invalid?.[0]?.keyword !== 'maxItems') invalid = [countError('maxItems', MAX_RECORDS_PER_CALL)];
      if (invalid) continue; // only the syntax is still checked
      const records: PlainRecord[] = [];
      for (const item of chunk) {
        if (!validate(item)) {
          invalid = (validate.errors ?? []).map((e) => ({ ...e, instancePath: `/${index}${e.instancePath}` }));
          break;
        }
        const record = checkNewRecord(fields, item as NewRecord, index++, seen, newId, problems);
        if (problems.length === 0) records.push(record);
      }
      if (invalid || problems.length > 0) continue;
      yield mode === 'records' ? { job, records } : packed(job, records);
    }
    if (total === 0) invalid = [countError('minItems', 1)];
    if (invalid) yield { job, validation: invalid };
    else if (problems.length > 0) yield { job, error: errorOf(recordProblems(problems)) };
    else yield { job, done: true };
  } catch (err) {
    yield failed(job, err);
  }
}

const errorOf = (e: AppError) => ({ code: e.code, status: e.status, detail: e.detail, fields: e.fields });

/** The message a job fails with: its AppError, or a 500 for anything unexpected. */
const failed = (job: number, err: unknown): BulkMessage => ({
  job,
  error:
    err instanceof AppError
      ? errorOf(err)
      : { code: 'internal_error', status: 500, detail: `Bulk parsing failed: ${(err as Error).message}` },
});

/** A chunk's records prepared (canonical text, hash, size), packed in a few flat values. */
function packed(job: number, records: PlainRecord[]): BulkMessage {
  const texts: string[] = [];
  const hashes: string[] = [];
  const ends = new Int32Array(records.length);
  const bytes = new Int32Array(records.length);
  let end = 0;
  for (let k = 0; k < records.length; k++) {
    const p = recordDigest(records[k].id, records[k].data);
    texts.push(p.text);
    hashes.push(p.hash);
    end += p.text.length;
    ends[k] = end;
    bytes[k] = p.bytes;
  }
  return { job, ids: records.map((r) => r.id).join('\n'), texts: texts.join(''), ends, hashes: hashes.join(''), bytes };
}
