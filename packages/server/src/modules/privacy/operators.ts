import { createRequire } from 'node:module';
import type { Faker } from '@faker-js/faker';
import { AppError } from '../../platform/errors.js';
import type { DetectedEntity } from './detection/analyzer.js';

/** How one entity type is transformed. Unknown parameters are rejected by the API schema. */
export interface OperatorConfig {
  type: OperatorName;
  /** replace: the text to put in place (default `<TYPE>`). */
  new_value?: string;
  /** mask: the masking character (default `*`). */
  masking_char?: string;
  /** mask: how many characters to mask (default all, or all but `keep_last`). */
  chars_to_mask?: number;
  /** mask: mask from the end instead of the start. */
  from_end?: boolean;
  /** mask: leave the last n characters visible. */
  keep_last?: number;
  /** pseudonymize: values map consistently within a scope (default `default`). */
  scope?: string;
  /** generalize: dates to `month` or `year` (default `year`). */
  granularity?: 'month' | 'year';
  /** generalize: numbers to ranges of this width (default 10). */
  bucket_size?: number;
  /** generalize: characters of a postcode (or any code) kept (default 3). */
  prefix_length?: number;
}

export const OPERATOR_NAMES = [
  'replace',
  'redact',
  'mask',
  'hash',
  'pseudonymize',
  'tokenize',
  'encrypt',
  'generalize',
  'keep',
  'suppress',
] as const;
export type OperatorName = (typeof OPERATOR_NAMES)[number];

/** What the operators need from outside: the tenant's keys and the token vault. */
export interface OperatorContext {
  /** HMAC-SHA256 under the tenant's anonymization key, hex. */
  hmac(data: string): string;
  tokenize(value: string, type: string): Promise<string>;
  encrypt(value: string, type: string): Promise<string>;
}

export const DEFAULT_OPERATOR: OperatorConfig = { type: 'replace' };

function mask(value: string, op: OperatorConfig): string {
  const chars = [...value];
  const ch = op.masking_char ?? '*';
  const keepLast = Math.min(op.keep_last ?? 0, chars.length);
  let n = op.chars_to_mask ?? chars.length - keepLast;
  n = Math.max(0, Math.min(n, chars.length - keepLast));
  if (op.from_end) {
    const end = chars.length - keepLast;
    for (let i = end - n; i < end; i++) chars[i] = ch;
  } else {
    for (let i = 0; i < n; i++) chars[i] = ch;
  }
  return chars.join('');
}

/** Generalizes dates (month/year), numbers (ranges) and codes (prefix); anything else becomes `<TYPE>`. */
export function generalize(value: string, type: string, op: OperatorConfig): string {
  const trimmed = value.trim();
  const iso = /^(\d{4})-(\d{2})(?:-\d{2})?(?:[T ].*)?$/.exec(trimmed);
  const parsed = !iso && type === 'DATE_TIME' && !Number.isNaN(Date.parse(trimmed)) ? new Date(Date.parse(trimmed)) : null;
  if (iso || parsed) {
    const y = iso ? iso[1] : String(parsed?.getFullYear());
    const m = iso ? iso[2] : String((parsed?.getMonth() ?? 0) + 1).padStart(2, '0');
    return op.granularity === 'month' ? `${y}-${m}` : y;
  }
  if (/^-?\d+(?:\.\d+)?$/.test(trimmed)) {
    const size = op.bucket_size ?? 10;
    const lo = Math.floor(Number(trimmed) / size) * size;
    return `${lo}-${lo + size - 1}`;
  }
  if (type === 'LOCATION' || type === 'POSTCODE' || /^[A-Z0-9][A-Z0-9 -]{2,9}$/i.test(trimmed)) {
    const keep = op.prefix_length ?? 3;
    if (/\d/.test(trimmed) && trimmed.length > keep)
      return `${trimmed.slice(0, keep)}${'*'.repeat(Math.max(1, trimmed.replace(/\s/g, '').length - keep))}`;
  }
  return `<${type}>`;
}

// faker is loaded on the first surrogate, not at start (its CommonJS build is the same release and
// produces the same values for a seed).
const require = createRequire(import.meta.url);
let fakerInstance: Faker | undefined;
function seededFaker(seed: number): Faker {
  if (!fakerInstance) {
    const { Faker: FakerClass, base, en } = require('@faker-js/faker') as typeof import('@faker-js/faker');
    fakerInstance = new FakerClass({ locale: [en, base] });
  }
  fakerInstance.seed(seed);
  return fakerInstance;
}

/** Digits derived from a hex digest, for surrogates that must look like numbers. */
const digitsFrom = (hex: string, n: number) =>
  [...hex]
    .map((c) => (Number.parseInt(c, 16) % 10).toString())
    .join('')
    .slice(0, n);

/** A realistic fake of the same kind, chosen by the HMAC of the value so it is stable within a scope. */
export function surrogate(type: string, value: string, digest: string): string {
  const faker = seededFaker(Number.parseInt(digest.slice(0, 12), 16));
  switch (type) {
    case 'EMAIL_ADDRESS':
      return faker.internet.email({ provider: 'example.com' }).toLowerCase();
    case 'PERSON':
      return /\s/.test(value.trim()) ? `${faker.person.firstName()} ${faker.person.lastName()}` : faker.person.firstName();
    case 'PHONE_NUMBER':
      return faker.phone.number({ style: 'national' });
    case 'LOCATION':
      return faker.location.city();
    case 'ORGANIZATION':
      return faker.company.name();
    case 'CREDIT_CARD':
      return faker.finance.creditCardNumber('visa');
    case 'IBAN_CODE':
      return faker.finance.iban();
    case 'IP_ADDRESS':
      return value.includes(':') ? faker.internet.ipv6() : faker.internet.ipv4();
    case 'MAC_ADDRESS':
      return faker.internet.mac();
    case 'URL':
      return faker.internet.url();
    case 'DATE_TIME':
      return faker.date.between({ from: '1950-01-01', to: '2010-12-31' }).toISOString().slice(0, 10);
    case 'CRYPTO':
      return value.startsWith('0x') ? faker.finance.ethereumAddress() : faker.finance.bitcoinAddress();
    case 'US_SSN': {
      const d = digitsFrom(digest, 9);
      return `${String((Number(d.slice(0, 3)) % 665) + 1).padStart(3, '0')}-${String((Number(d.slice(3, 5)) % 99) + 1).padStart(2, '0')}-${String((Number(d.slice(5)) % 9999) + 1).padStart(4, '0')}`;
    }
    default:
      return `${type}_${digest.slice(0, 10)}`;
  }
}

/** The replacement for one value; `null` means the value is removed (`suppress`). */
export async function applyOperator(value: string, type: string, op: OperatorConfig, ctx: OperatorContext): Promise<string | null> {
  switch (op.type) {
    case 'replace':
      return op.new_value ?? `<${type}>`;
    case 'redact':
      return '';
    case 'mask':
      return mask(value, op);
    case 'hash':
      return ctx.hmac(`hash|${value}`);
    case 'pseudonymize':
      return surrogate(type, value, ctx.hmac(`pseudonym|${op.scope ?? 'default'}|${type}|${value}`));
    case 'tokenize':
      return ctx.tokenize(value, type);
    case 'encrypt':
      return ctx.encrypt(value, type);
    case 'generalize':
      return generalize(value, type, op);
    case 'keep':
      return value;
    case 'suppress':
      return null;
    default:
      throw new AppError('validation_error', 400, `Unknown operator '${(op as OperatorConfig).type}'`);
  }
}

export interface AppliedItem {
  type: string;
  operator: OperatorName;
  start: number;
  end: number;
  /** Where the replacement sits in the output. */
  new_start: number;
  new_end: number;
}

/**
 * Replaces each entity in `text` by its operator's output (entities must not overlap, which the
 * analyzer guarantees). `suppress` removes the span with one neighbouring space.
 */
export async function anonymizeText(
  text: string,
  entities: DetectedEntity[],
  operators: Record<string, OperatorConfig>,
  ctx: OperatorContext,
): Promise<{ text: string; items: AppliedItem[] }> {
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  let out = '';
  let cursor = 0;
  const items: AppliedItem[] = [];
  for (const e of sorted) {
    if (e.start < cursor) continue;
    const op = operators[e.type] ?? operators.DEFAULT ?? DEFAULT_OPERATOR;
    const replacement = await applyOperator(text.slice(e.start, e.end), e.type, op, ctx);
    let prefix = text.slice(cursor, e.start);
    let skipAfter = 0;
    if (replacement === null) {
      if (prefix.endsWith(' ')) prefix = prefix.slice(0, -1);
      else if (text[e.end] === ' ') skipAfter = 1;
    }
    out += prefix;
    const newStart = out.length;
    out += replacement ?? '';
    items.push({ type: e.type, operator: op.type, start: e.start, end: e.end, new_start: newStart, new_end: out.length });
    cursor = e.end + skipAfter;
  }
  out += text.slice(cursor);
  return { text: out, items };
}
