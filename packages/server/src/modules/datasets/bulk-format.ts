/** The wire format of large bulk inserts, shared by the event loop (bulk.ts) and its worker thread (bulk-worker.ts). */
import { MAX_RECORDS_PER_CALL, type SchemaField } from '@loam/api';
import sjson from 'secure-json-parse';
import { AppError, type FieldError } from '../../platform/errors.js';
import type { PlainRecord } from './protection.js';

/**
 * Bulk inserts (POST …/records) of this many bytes or more are parsed on a worker thread (see
 * `BulkParser`); smaller ones are parsed on the event loop like any other body.
 */
export const BULK_MIN_BYTES = 64 * 1024;
/** Records per chunk the worker hands over: small enough to start inserting early. */
export const BULK_CHUNK = 500;
/** Fastify's JSON parser settings (prototype poisoning is refused), used for bulk bodies alike. */
export const JSON_PARSE_OPTIONS = { protoAction: 'error', constructorAction: 'error' } as const;

export const tooManyRecords = (): AppError =>
  new AppError('payload_too_large', 413, `At most ${MAX_RECORDS_PER_CALL} records per call; split the batch`);

/** NDJSON bodies: one JSON value per line (blank lines skipped); a bad line is a 400 naming it. */
export function* ndjsonItems(text: string): Generator<unknown> {
  const lines = text.split('\n');
  let count = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    if (++count > MAX_RECORDS_PER_CALL) throw tooManyRecords();
    try {
      yield JSON.parse(line);
    } catch (err) {
      throw new AppError('invalid_request', 400, `Malformed NDJSON on line ${i + 1}: ${(err as Error).message}`, [
        { field: `line ${i + 1}`, code: 'invalid_json', message: (err as Error).message },
      ]);
    }
  }
}

export const parseNdjson = (text: string): unknown[] => [...ndjsonItems(text)];

/** What a malformed JSON body gets: what Fastify's own parser answers (errors-render.ts). */
const malformedJson = (): AppError =>
  new AppError('invalid_request', 400, "Malformed request body: Body is not valid JSON but content-type is set to 'application/json'");

/** The index of the quote closing the string that opens at `i` (-1: none). */
function closingQuote(text: string, i: number): number {
  for (let j = text.indexOf('"', i + 1); j >= 0; j = text.indexOf('"', j + 1)) {
    let k = j - 1;
    while (text.charCodeAt(k) === 92) k--; // an odd number of backslashes escapes it
    if ((j - 1 - k) % 2 === 0) return j;
  }
  return -1;
}

/**
 * A JSON array body cut between its top-level elements into chunks of `size` elements, each
 * parsed on its own (`[` + elements + `]`) as soon as the scan has passed it, so work on the first
 * chunk starts before the rest is even scanned. Anything but exactly one well-formed array throws
 * the 400 Fastify's parser gives.
 */
export function* jsonArrayChunks(text: string, size: number): Generator<unknown[]> {
  const n = text.length;
  let i = 0;
  while (i < n && (text.charCodeAt(i) <= 32 || text.charCodeAt(i) === 0xfeff)) i++;
  if (text.charCodeAt(i) !== 91) throw malformedJson(); // '['
  const first = i + 1;
  let start = first; // where the current chunk's first element begins
  let commas = 0; // top-level commas in the current chunk
  let depth = 0;
  for (; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      i = closingQuote(text, i);
      if (i < 0) break;
    } else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      if (--depth === 0) break;
    } else if (c === 44 && depth === 1 && ++commas === size) {
      yield parseElements(text.slice(start, i), size);
      start = i + 1;
      commas = 0;
    }
  }
  if (i < 0 || i >= n || text.charCodeAt(i) !== 93 || text.slice(i + 1).trim() !== '') throw malformedJson();
  const rest = text.slice(start, i);
  if (commas > 0 || rest.trim() !== '') yield parseElements(rest, commas + 1);
  else if (start !== first) throw malformedJson(); // a trailing comma
}

/** `count` comma-separated JSON values, parsed as Fastify's parser would (prototype poisoning refused). */
function parseElements(elements: string, count: number): unknown[] {
  let items: unknown;
  try {
    items = sjson.parse(`[${elements}]`, JSON_PARSE_OPTIONS);
  } catch {
    throw malformedJson();
  }
  // An empty element (`[1,,2]`) can make the values fewer than the commas say.
  if (!Array.isArray(items) || items.length !== count) throw malformedJson();
  return items;
}

/** An Ajv-style error of the body schema (rendered like the ones Fastify's validation throws). */
export interface BodySchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A message from the worker about one job. */
export type BulkMessage = { job: number } & (
  | { ids: string; texts: string; ends: Int32Array; hashes: string; bytes: Int32Array } // prepared records
  | { records: PlainRecord[] } // checked records, not prepared (datasets with protected fields)
  | { done: true }
  | { validation: BodySchemaError[] }
  | { error: { code: string; status: number; detail: string; fields?: FieldError[] } }
);

/**
 * Records of a streamed bulk insert (gRPC `BulkInsertRecords`), packed for the worker: each
 * record's client id ('' = the server assigns one) and its data, UTF-8 JSON, back to back in
 * `data` (record k's ends at `ends[k]`).
 */
export interface RecordPart {
  ids: string[];
  data: Uint8Array;
  ends: Int32Array;
}

/** `records` (their `id`, '' for none, and `data` as UTF-8 JSON bytes) as one RecordPart. */
export function packRecords(records: ReadonlyArray<{ id: string; data: Uint8Array }>): RecordPart {
  const ends = new Int32Array(records.length);
  let end = 0;
  for (let k = 0; k < records.length; k++) ends[k] = end += records[k].data.byteLength;
  const data = new Uint8Array(end);
  for (let k = 0; k < records.length; k++) data.set(records[k].data, k > 0 ? ends[k - 1] : 0);
  return { ids: records.map((r) => r.id), data, ends };
}

/**
 * What the worker is asked about a streamed bulk insert: its start (the dataset's schema), each
 * part in order (answered by one chunk message, or the error the call fails with), its end
 * (answered `done`), or that it was given up (no answer).
 */
export type BulkStreamRequest = { job: number } & (
  | { stream: Omit<BulkRequest, 'job' | 'bytes' | 'format'> }
  | { part: RecordPart }
  | { end: true }
  | { cancel: true }
);

/** What the worker is asked to do with one body. */
export interface BulkRequest {
  job: number;
  bytes: Uint8Array;
  format: 'json' | 'ndjson';
  fields: SchemaField[];
  /** The time new record ids carry. */
  now: number;
  /** `prepared`: canonical text and hash of each record; `records`: the checked records only. */
  mode: 'prepared' | 'records';
}

/** A chunk of a bulk insert, in body order. */
