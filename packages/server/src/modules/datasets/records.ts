import crypto, { createHash } from 'node:crypto';
import type { DatasetSchema, FieldType, SchemaField } from '@loam/api';
import { AppError, type FieldError } from '../../platform/errors.js';

/** A validation problem of one record (the index is added by bulk callers). */
export interface RecordProblem {
  field: string;
  code: 'required_field_missing' | 'invalid_type' | 'invalid_format' | 'out_of_range';
  message: string;
}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

function typeMatches(type: FieldType, v: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'boolean':
      return typeof v === 'boolean';
    case 'datetime':
      return typeof v === 'string' && RFC3339.test(v) && !Number.isNaN(Date.parse(v));
    case 'object':
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    case 'array':
      return Array.isArray(v);
  }
}

/** Levels of objects and arrays a record's data may nest (the record itself is the first). */
export const MAX_RECORD_DEPTH = 100;

/** Whether `value` nests objects or arrays more than `levels` deep. */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  if (Array.isArray(value)) return value.some((v) => deeperThan(v, levels - 1));
  for (const k in value) if (deeperThan((value as Record<string, unknown>)[k], levels - 1)) return true;
  return false;
}

/**
 * Checks `data` against the dataset's fields (required fields present and non-null, types right)
 * and the nesting limit.
 */
export function validateRecord(fields: SchemaField[], data: Record<string, unknown>): RecordProblem[] {
  const problems: RecordProblem[] = [];
  for (const k in data)
    if (deeperThan(data[k], MAX_RECORD_DEPTH - 1))
      problems.push({ field: k, code: 'out_of_range', message: `${k} nests objects and arrays more than ${MAX_RECORD_DEPTH} levels deep` });
  for (const f of fields) {
    const v = data[f.name];
    if (v === undefined || v === null) {
      if (f.required) problems.push({ field: f.name, code: 'required_field_missing', message: `${f.name} is required` });
      continue;
    }
    if (!typeMatches(f.type, v))
      problems.push({
        field: f.name,
        code: f.type === 'datetime' && typeof v === 'string' ? 'invalid_format' : 'invalid_type',
        message: f.type === 'datetime' ? `${f.name} must be an RFC 3339 date-time` : `${f.name} must be of type ${f.type}`,
      });
  }
  return problems;
}

/**
 * One item of a bulk insert checked against the dataset's fields. Its problems are added to
 * `problems` (fields prefixed with its index), a repeated id is reported against its first use,
 * and a missing id is made with `newId`. Shared by the inline path and the bulk-parse worker.
 */
export function checkNewRecord(
  fields: SchemaField[],
  item: { id?: string; data: unknown },
  i: number,
  seen: Map<string, number>,
  newId: () => string,
  problems: FieldError[],
): { id: string; data: Record<string, unknown> } {
  const data = item.data as Record<string, unknown>;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    problems.push({ field: `[${i}].data`, code: 'invalid_type', message: `record ${i}: data must be an object` });
    return { id: '', data }; // never stored: the call fails
  }
  for (const p of validateRecord(fields, data))
    problems.push({ field: `[${i}].data.${p.field}`, code: p.code, message: `record ${i}: ${p.message}` });
  const rid = item.id ?? newId();
  const first = seen.get(rid);
  if (first !== undefined)
    problems.push({ field: `[${i}].id`, code: 'duplicate', message: `record ${i}: id '${rid}' repeats record ${first}` });
  else seen.set(rid, i);
  return { id: rid, data };
}

/** The 400 for a bulk insert's record problems (the first 1,000 are listed). */
export const recordProblems = (problems: FieldError[]): AppError =>
  new AppError(
    'validation_error',
    400,
    `${problems.length} problem${problems.length === 1 ? '' : 's'} in the records; nothing was inserted`,
    problems.slice(0, 1000),
  );

export const schemaFields = (schema: DatasetSchema | undefined): SchemaField[] => schema?.fields ?? [];

/**
 * Canonical JSON is JSON.stringify (native, one flat string) of a copy of the value whose objects
 * have their keys inserted in sorted order. The copies are made by functions compiled once per
 * key order seen (records share shapes), found by the first key and compared key by key. Keys
 * enter the generated code only as JSON string literals (JSON.stringify), so no key can inject
 * code. Two kinds of key break the insertion order, and objects holding them are written by
 * `writeSorted` instead: integer-like keys ("0", "42"), which every object lists first in numeric
 * order, and `__proto__`, which an object literal takes as the prototype.
 */
type Copier = (obj: Record<string, unknown>) => Record<string, unknown>;
interface Shape {
  order: string[];
  /** Undefined when the keys cannot keep their order in a copy. */
  copy: Copier | undefined;
}
const shapes = new Map<string, Shape[]>();
let shapeCount = 0;
const MAX_SHAPES = 4096;
const INTEGER_LIKE = /^(0|[1-9]\d*)$/;

/** Whether a copy made by inserting these keys in this order lists them in this order. */
const orderable = (keys: string[]): boolean => !keys.some((k) => k === '__proto__' || INTEGER_LIKE.test(k));

function compileCopier(sorted: string[]): Copier | undefined {
  if (!orderable(sorted)) return undefined;
  const props = sorted.map((k) => `${JSON.stringify(k)}: c(o[${JSON.stringify(k)}])`);
  return new Function('c', `return function (o) { return {${props.join(', ')}}; }`)(sortedCopy) as Copier;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The copier of objects with these keys in this order (at least one key). */
function copierOf(keys: string[]): Copier | undefined {
  const candidates = shapes.get(keys[0]);
  if (candidates) for (const s of candidates) if (sameKeys(s.order, keys)) return s.copy;
  const sorted = [...keys].sort();
  if (shapeCount >= MAX_SHAPES) return orderable(sorted) ? (obj) => copyInOrder(obj, sorted) : undefined;
  const copy = compileCopier(sorted);
  if (candidates) candidates.push({ order: keys, copy });
  else shapes.set(keys[0], [{ order: keys, copy }]);
  shapeCount++;
  return copy;
}

/** The uncompiled copier, for shapes beyond the cache. */
function copyInOrder(obj: Record<string, unknown>, sorted: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of sorted) out[k] = sortedCopy(obj[k]);
  return out;
}

/** Set by `sortedCopy` when it met an object whose keys cannot keep their order in a copy. */
let unordered = false;

/**
 * The value with its objects copied in sorted key order; what JSON.stringify writes of it is
 * what `writeSorted` writes of the value. Functions become undefined (so none is taken for a
 * `toJSON`), bigints null, as `writeSorted` writes them.
 */
function sortedCopy(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) {
    if (typeof value === 'function') return undefined;
    return typeof value === 'bigint' ? null : value;
  }
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if ((typeof v === 'object' && v !== null) || typeof v === 'bigint') {
        out ??= value.slice();
        out[i] = sortedCopy(v);
      }
    }
    return out ?? value;
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return {};
  const copy = copierOf(keys);
  if (copy) return copy(value as Record<string, unknown>);
  unordered = true;
  return value;
}

/** The generic writer: keys sorted at every level, built as a string. */
function writeSorted(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return 'null';
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += `${i > 0 ? ',' : ''}${writeSorted(value[i])}`;
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  let out = '{';
  for (const k of Object.keys(obj).sort()) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    out += `${out === '{' ? '' : ','}${JSON.stringify(k)}:${writeSorted(v)}`;
  }
  return `${out}}`;
}

/**
 * JSON with object keys sorted at every level, so equal content serializes (and hashes) equally.
 * It runs for every record written, hence the compiled copies and the native stringify.
 */
export function canonicalJson(value: unknown): string {
  unordered = false;
  const copy = sortedCopy(value);
  if (unordered) return writeSorted(value);
  return copy === undefined || typeof copy === 'symbol' ? 'null' : JSON.stringify(copy);
}

// One-shot hashing (Node ≥ 20.12) avoids a Hash object per record; older versions fall back.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;
const sha256Hex = (text: string): string => (oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex'));

/** A record ready to store: its id, canonical JSON text, content hash and size. */
export interface PreparedRecord {
  id: string;
  text: string;
  hash: string;
  bytes: number;
}

/** A record's canonical JSON (what is stored), its content hash (id and canonical data) and size. */
export function recordDigest(id: string, data: Record<string, unknown>): PreparedRecord {
  // The hash input is built once and the text is a slice of it: one flat copy serves both.
  const input = `${id}\n${canonicalJson(data)}`;
  const text = input.slice(id.length + 1);
  return { id, text, hash: sha256Hex(input), bytes: Buffer.byteLength(text) };
}

/**
 * The records prepared one by one as they are iterated: each one's text and hash live only until
 * it is stored, instead of all of a batch's until the last is (less for the GC to copy).
 */
export function* prepareRecords(records: Iterable<{ id: string; data: Record<string, unknown> }>): Generator<PreparedRecord> {
  for (const r of records) yield recordDigest(r.id, r.data);
}

/** JSON merge patch (RFC 7386) of the top level and below: null removes a key. */
export function mergePatch(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] !== null && !Array.isArray(out[k]))
      out[k] = mergePatch(out[k] as Record<string, unknown>, v as Record<string, unknown>);
    else if (typeof v === 'object' && !Array.isArray(v)) out[k] = mergePatch({}, v as Record<string, unknown>);
    else out[k] = v;
  }
  return out;
}

/** Field-level differences between two versions of a record (nested objects are walked). */
export function fieldChanges(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  prefix = '',
): { field: string; before: unknown; after: unknown }[] {
  const out: { field: string; before: unknown; after: unknown }[] = [];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const k of keys) {
    const a = before[k];
    const b = after[k];
    const field = prefix + k;
    const isObj = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (isObj(a) && isObj(b)) out.push(...fieldChanges(a as Record<string, unknown>, b as Record<string, unknown>, `${field}.`));
    else if (canonicalJson(a ?? null) !== canonicalJson(b ?? null) || (a === undefined) !== (b === undefined))
      out.push({ field, before: a ?? null, after: b ?? null });
  }
  return out;
}
