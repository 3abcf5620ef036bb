import crypto, { createHash } from 'node:crypto';
import type { DatasetSchema, FieldType, SchemaField } from '@loam/api';

/** A validation problem of one record (the index is added by bulk callers). */
export interface RecordProblem {
  field: string;
  code: 'required_field_missing' | 'invalid_type' | 'invalid_format';
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

/** Checks `data` against the dataset's fields: required fields present and non-null, types right. */
export function validateRecord(fields: SchemaField[], data: Record<string, unknown>): RecordProblem[] {
  const problems: RecordProblem[] = [];
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

export const schemaFields = (schema: DatasetSchema | undefined): SchemaField[] => schema?.fields ?? [];

/**
 * Serializers per key order seen (records share shapes): each writes its object's keys in sorted
 * order as straight-line code, compiled once per shape. Keys enter the generated code only as
 * JSON string literals (JSON.stringify), so no key can inject code.
 */
type ObjectWriter = (obj: Record<string, unknown>) => string;
interface Shape {
  order: string[];
  write: ObjectWriter;
}
const shapes = new Map<string, Shape>();
const MAX_SHAPES = 4096;

function compileWriter(sorted: string[]): ObjectWriter {
  const steps = sorted.map(
    (k) =>
      `v = o[${JSON.stringify(k)}];
      if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') {
        out += (first ? ${JSON.stringify(`${JSON.stringify(k)}:`)} : ${JSON.stringify(`,${JSON.stringify(k)}:`)}) + c(v);
        first = false;
      }`,
  );
  return new Function('c', `return function (o) { let out = '{'; let first = true; let v;\n${steps.join('\n')}\nreturn out + '}'; }`)(
    canonicalJson,
  ) as ObjectWriter;
}

/** The generic writer, for shapes beyond the cache. */
function writeObject(obj: Record<string, unknown>, sorted: string[]): string {
  let out = '{';
  let first = true;
  for (const k of sorted) {
    const v = obj[k];
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${canonicalJson(v)}`;
    first = false;
  }
  return `${out}}`;
}

function writerOf(keys: string[]): ObjectWriter {
  const signature = keys.join('\u0000');
  const cached = shapes.get(signature);
  // The signature is a hint only: keys may contain the separator, so a hit must match exactly.
  if (cached && cached.order.length === keys.length && cached.order.every((k, i) => k === keys[i])) return cached.write;
  const sorted = [...keys].sort();
  if (cached || shapes.size >= MAX_SHAPES) return (obj) => writeObject(obj, sorted);
  const write = compileWriter(sorted);
  shapes.set(signature, { order: keys, write });
  return write;
}

/**
 * JSON with object keys sorted at every level, so equal content serializes (and hashes) equally.
 * Hand-rolled because it runs for every record written; objects are written by per-shape
 * compiled writers.
 */
export function canonicalJson(value: unknown): string {
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
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const obj = value as Record<string, unknown>;
  return writerOf(Object.keys(obj))(obj);
}

// One-shot hashing (Node ≥ 20.12) avoids a Hash object per record; older versions fall back.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;
const sha256Hex = (text: string): string => (oneShot ? oneShot('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex'));

/** A record's canonical JSON (what is stored), its content hash (id and canonical data) and size. */
export function recordDigest(id: string, data: Record<string, unknown>): { text: string; hash: string; bytes: number } {
  const text = canonicalJson(data);
  return { text, hash: sha256Hex(`${id}\n${text}`), bytes: Buffer.byteLength(text) };
}

export const recordHash = (id: string, data: Record<string, unknown>): string => recordDigest(id, data).hash;

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
