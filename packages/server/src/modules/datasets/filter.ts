import { type RawBuilder, type SqlBool, sql } from 'kysely';
import { FIELD_PATH_PATTERN } from '@loam/api';
import { type Bool, type JsonExpressions, joinOr, type Scalar } from '../../platform/db/dialect/index.js';
import type { SqlDialect } from '../../platform/db/index.js';
import { AppError } from '../../platform/errors.js';

/**
 * The record filter language: parsing (with clear 400s), compilation to parameterized SQL for
 * both dialects, and an in-memory evaluator with the same semantics (the property test holds
 * the two to each other).
 *
 * Semantics, identical on SQLite, PostgreSQL and in memory:
 * - comparisons are typed: `{a: 1}` never matches `true` or `"1"`; `$gt/$gte/$lt/$lte` compare
 *   numbers with numbers and strings with strings (byte order), anything else does not match;
 * - `{a: null}` / `$eq: null` match a missing or null field; `$ne` and `$nin` are the negations,
 *   so they match records where the field is missing;
 * - `$contains` matches a string containing the substring or an array holding the element;
 * - `$exists: true` matches a field that is present, even if null.
 */

export type { Scalar };
export type ComparisonOp = '$eq' | '$ne' | '$gt' | '$gte' | '$lt' | '$lte' | '$in' | '$nin' | '$contains' | '$startsWith' | '$exists';

export type FilterNode =
  | { kind: 'and'; items: FilterNode[] }
  | { kind: 'or'; items: FilterNode[] }
  | { kind: 'not'; item: FilterNode }
  | { kind: 'cmp'; path: string[]; op: ComparisonOp; value: unknown };

const FIELD_PATH = new RegExp(FIELD_PATH_PATTERN);
const COMPARISONS = new Set<string>(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$contains', '$startsWith', '$exists']);
const MAX_DEPTH = 12;
const MAX_CONDITIONS = 200;
const MAX_IN = 1000;

const invalid = (detail: string, field = 'filter') =>
  new AppError('invalid_filter', 400, detail, [{ field, code: 'invalid_filter', message: detail }]);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Splits and validates a field path (`a.b`): identifier segments only, so it is safe as an SQL literal. */
export function parseFieldPath(path: string, where = 'filter'): string[] {
  if (typeof path !== 'string' || !FIELD_PATH.test(path))
    throw invalid(`'${String(path).slice(0, 100)}' is not a valid field path (letters, digits and _ separated by dots)`, where);
  return path.split('.');
}

/** Parses a filter document; throws 400 `invalid_filter` naming the problem. */
export function parseFilter(doc: unknown): FilterNode {
  if (!isPlainObject(doc)) throw invalid('A filter must be a JSON object');
  const counter = { n: 0 };
  return parseDoc(doc, 0, counter);
}

function parseDoc(doc: Record<string, unknown>, depth: number, counter: { n: number }): FilterNode {
  if (depth > MAX_DEPTH) throw invalid(`Filters may nest at most ${MAX_DEPTH} levels`);
  const items: FilterNode[] = [];
  for (const [key, value] of Object.entries(doc)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw invalid(`${key} takes a non-empty array of filters`);
      const parts = value.map((v) => {
        if (!isPlainObject(v)) throw invalid(`${key} takes an array of filter objects`);
        return parseDoc(v, depth + 1, counter);
      });
      items.push({ kind: key === '$and' ? 'and' : 'or', items: parts });
    } else if (key === '$not') {
      if (!isPlainObject(value)) throw invalid('$not takes a filter object');
      items.push({ kind: 'not', item: parseDoc(value, depth + 1, counter) });
    } else if (key.startsWith('$')) {
      throw invalid(`Unknown operator ${key} at the top of a filter`);
    } else {
      items.push(parseFieldCondition(parseFieldPath(key), value, depth + 1, counter));
    }
  }
  return items.length === 1 ? items[0] : { kind: 'and', items };
}

function parseFieldCondition(path: string[], value: unknown, depth: number, counter: { n: number }): FilterNode {
  if (depth > MAX_DEPTH) throw invalid(`Filters may nest at most ${MAX_DEPTH} levels`);
  const field = path.join('.');
  if (!isPlainObject(value)) {
    if (!isScalar(value)) throw invalid(`${field}: compare with a string, number, boolean or null (use a.b for nested fields)`, field);
    return cmp(path, '$eq', value, counter);
  }
  const keys = Object.keys(value);
  if (keys.length === 0 || keys.some((k) => !k.startsWith('$')))
    throw invalid(`${field}: an object value must hold operators ($eq, $gt, …); use a.b to reach nested fields`, field);
  const items: FilterNode[] = [];
  for (const op of keys) {
    const operand = value[op];
    if (op === '$not') {
      items.push({ kind: 'not', item: parseFieldCondition(path, operand, depth + 1, counter) });
      continue;
    }
    if (!COMPARISONS.has(op)) throw invalid(`${field}: unknown operator ${op}`, field);
    items.push(cmp(path, op as ComparisonOp, operand, counter));
  }
  return items.length === 1 ? items[0] : { kind: 'and', items };
}

function cmp(path: string[], op: ComparisonOp, value: unknown, counter: { n: number }): FilterNode {
  const field = path.join('.');
  if (++counter.n > MAX_CONDITIONS) throw invalid(`A filter may hold at most ${MAX_CONDITIONS} conditions`);
  switch (op) {
    case '$eq':
    case '$ne':
      if (!isScalar(value)) throw invalid(`${field}: ${op} takes a string, number, boolean or null`, field);
      break;
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      if (typeof value !== 'string' && !(typeof value === 'number' && Number.isFinite(value)))
        throw invalid(`${field}: ${op} takes a number or a string`, field);
      break;
    case '$in':
    case '$nin':
      if (!Array.isArray(value) || value.length === 0 || value.length > MAX_IN || !value.every(isScalar))
        throw invalid(`${field}: ${op} takes an array of 1 to ${MAX_IN} strings, numbers, booleans or nulls`, field);
      break;
    case '$contains':
      if (!isScalar(value) || value === null) throw invalid(`${field}: $contains takes a string, number or boolean`, field);
      break;
    case '$startsWith':
      if (typeof value !== 'string') throw invalid(`${field}: $startsWith takes a string`, field);
      break;
    case '$exists':
      if (typeof value !== 'boolean') throw invalid(`${field}: $exists takes true or false`, field);
      break;
  }
  return { kind: 'cmp', path, op, value };
}

/** Every field path a filter mentions (for index advice and validation). */
export function filterFields(node: FilterNode, out = new Set<string>()): Set<string> {
  if (node.kind === 'cmp') out.add(node.path.join('.'));
  else if (node.kind === 'not') filterFields(node.item, out);
  else for (const i of node.items) filterFields(i, out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// In-memory evaluation

type JsonKind = 'missing' | 'null' | 'string' | 'number' | 'boolean' | 'object' | 'array';

export function kindOf(v: unknown): JsonKind {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  return 'object';
}

export function getPath(data: unknown, path: string[]): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (!isPlainObject(cur) || !Object.hasOwn(cur, seg)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

function scalarEquals(actual: unknown, expected: Scalar): boolean {
  if (expected === null) return actual === undefined || actual === null;
  return kindOf(actual) === kindOf(expected) && actual === expected;
}

/** Byte-order string comparison (UTF-8 order equals code point order), as SQLite and `COLLATE "C"` do. */
function compareStrings(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i].codePointAt(0) ?? 0) - (y[i].codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

export function evaluateFilter(node: FilterNode, data: unknown): boolean {
  switch (node.kind) {
    case 'and':
      return node.items.every((i) => evaluateFilter(i, data));
    case 'or':
      return node.items.some((i) => evaluateFilter(i, data));
    case 'not':
      return !evaluateFilter(node.item, data);
    case 'cmp':
      return evaluateComparison(node.op, getPath(data, node.path), node.value);
  }
}

function evaluateComparison(op: ComparisonOp, actual: unknown, value: unknown): boolean {
  switch (op) {
    case '$eq':
      return scalarEquals(actual, value as Scalar);
    case '$ne':
      return !scalarEquals(actual, value as Scalar);
    case '$in':
      return (value as Scalar[]).some((v) => scalarEquals(actual, v));
    case '$nin':
      return !(value as Scalar[]).some((v) => scalarEquals(actual, v));
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      let d: number;
      if (typeof value === 'number' && typeof actual === 'number') d = actual - value;
      else if (typeof value === 'string' && typeof actual === 'string') d = compareStrings(actual, value);
      else return false;
      return op === '$gt' ? d > 0 : op === '$gte' ? d >= 0 : op === '$lt' ? d < 0 : d <= 0;
    }
    case '$contains':
      if (typeof actual === 'string') return typeof value === 'string' && actual.includes(value);
      if (Array.isArray(actual)) return actual.some((e) => scalarEquals(e, value as Scalar));
      return false;
    case '$startsWith':
      return typeof actual === 'string' && actual.startsWith(value as string);
    case '$exists':
      return (actual !== undefined) === value;
  }
}

// ---------------------------------------------------------------------------------------------
// SQL compilation. Values are always bound parameters. Field paths are validated identifiers
// and appear as SQL literals: an expression index (POST …/indexes) is used only when the query
// spells the very same constant expression, which a bound path would not.

type Sql = RawBuilder<unknown>;

/** The JSON expressions of one dialect over a JSON column, and the filter compiled onto them. */
export interface JsonSql extends JsonExpressions {
  compile(node: FilterNode): Bool;
}

export function jsonSql(dialect: SqlDialect, column = 'data'): JsonSql {
  const json = dialect.json(column);
  return { ...json, compile: filterCompiler(json) };
}

const joinAnd = (parts: Bool[]): Bool => (parts.length === 1 ? parts[0] : sql<SqlBool>`(${sql.join(parts, sql` AND `)})`);

const RANGE_SQL: Record<string, string> = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' };

/** The comparisons each dialect writes its own way (dialect/); everything else is compiled once, here. */
function filterCompiler(d: JsonExpressions): (node: FilterNode) => Bool {
  const compileCmp = (path: string[], op: ComparisonOp, value: unknown): Bool => {
    switch (op) {
      case '$eq':
        return d.anyOf(path, [value as Scalar]);
      case '$ne':
        return sql<SqlBool>`NOT ${d.anyOf(path, [value as Scalar])}`;
      case '$in':
        return d.anyOf(path, value as Scalar[]);
      case '$nin':
        return sql<SqlBool>`NOT ${d.anyOf(path, value as Scalar[])}`;
      case '$gt':
      case '$gte':
      case '$lt':
      case '$lte':
        return d.range(path, sql.raw(RANGE_SQL[op]), value as string | number);
      case '$contains':
        return d.contains(path, value as string | number | boolean);
      case '$startsWith':
        return d.startsWith(path, value as string);
      case '$exists':
        return d.exists(path, Boolean(value));
    }
  };
  const compile = (node: FilterNode): Bool => {
    if (node.kind === 'and') return joinAnd(node.items.map(compile));
    if (node.kind === 'or') return joinOr(node.items.map(compile));
    if (node.kind === 'not') return sql<SqlBool>`(NOT ${compile(node.item)})`;
    return compileCmp(node.path, node.op, node.value);
  };
  return compile;
}

/** The expression an index on `path` is built on: the same text the compiled filters use. */
export function indexExpression(dialect: SqlDialect, path: string[]): Sql {
  return jsonSql(dialect).value(path);
}

/** Returns only `fields` of `data` (nested paths keep their nesting). */
export function project(data: Record<string, unknown>, fields: string[][] | undefined): Record<string, unknown> {
  if (!fields) return data;
  const out: Record<string, unknown> = {};
  for (const path of fields) {
    const v = getPath(data, path);
    if (v === undefined) continue;
    let cur = out;
    for (let i = 0; i < path.length - 1; i++) {
      if (!isPlainObject(cur[path[i]])) cur[path[i]] = {};
      cur = cur[path[i]] as Record<string, unknown>;
    }
    cur[path[path.length - 1]] = v;
  }
  return out;
}
