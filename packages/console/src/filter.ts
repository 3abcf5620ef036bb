/** One row of the visual filter builder: `field op value`. */
export interface Condition {
  field: string;
  op: FilterOp;
  value: string;
}

/** The record filter language's operators (docs/datasets.md), as the builder offers them. */
export const FILTER_OPS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$contains', '$startsWith', '$exists'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export const OP_LABELS: Record<FilterOp, string> = {
  $eq: '=',
  $ne: '≠',
  $gt: '>',
  $gte: '≥',
  $lt: '<',
  $lte: '≤',
  $in: 'is one of',
  $nin: 'is none of',
  $contains: 'contains',
  $startsWith: 'starts with',
  $exists: 'exists',
};

/** A typed value from what was typed: numbers, booleans and null as such, anything else a string. */
export function parseValue(text: string): unknown {
  const t = text.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t === 'null') return null;
  if (t !== '' && Number.isFinite(Number(t))) return Number(t);
  return t;
}

function operand(c: Condition): unknown {
  if (c.op === '$in' || c.op === '$nin') return c.value.split(',').map(parseValue);
  if (c.op === '$exists') return c.value.trim() !== 'false';
  if (c.op === '$contains' || c.op === '$startsWith') return c.value;
  return parseValue(c.value);
}

/**
 * The `$`-filter of the builder's rows, joined with `$and` or `$or`: one row is
 * `{field: {$op: value}}`, several are `{$and: [...]}`. Rows without a field are left out.
 */
export function buildFilter(conditions: Condition[], join: '$and' | '$or'): Record<string, unknown> | undefined {
  const parts = conditions.filter((c) => c.field.trim()).map((c) => ({ [c.field.trim()]: { [c.op]: operand(c) } }));
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return parts[0];
  return { [join]: parts };
}
