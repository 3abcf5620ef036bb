import { PII_ENTITY_TYPES } from '@loam/api';
import type { CountryCode } from 'libphonenumber-js';
import { findNamedEntities } from './ner.js';
import { PHONE_CONTEXT, findPhoneNumbers } from './phones.js';
import { BUILTIN_PATTERNS, type Candidate, findPatterns, trimUrl } from './recognizers.js';

/** Every entity type the built-in recognizers report (one list, in @loam/api). */
export const ENTITY_TYPES = PII_ENTITY_TYPES;

export interface DetectedEntity {
  type: string;
  start: number;
  end: number;
  score: number;
  recognizer: string;
  /** JSON path of the string the entity is in (documents and records). */
  path?: string;
  text?: string;
}

export interface AnalyzeOptions {
  /** Only these types (default: all). */
  entities?: string[];
  /** Drop entities scoring below (default 0.4). */
  minScore?: number;
  /** Phone regions, in order (default US, GB). */
  regions?: string[];
  /** Named-entity recognition: `fast` (lexicon + context), `full` (plus compromise's tagger), `off`. */
  ner?: 'fast' | 'full' | 'off';
  /** Values never reported (case-insensitive). */
  allowList?: string[];
  /** Values always reported, as `denyListType` (default DENY_LIST). */
  denyList?: string[];
  denyListType?: string;
  /** Tenant recognizers: finds their candidates (fresh objects, rescored in place), and the context words of each by recognizer name. */
  custom?: { find(text: string): Candidate[]; context: Map<string, string[]> };
  /** Words treated as context for every match (a field name, a column header). */
  extraContext?: string[];
  includeText?: boolean;
}

/** How much a context word near a match raises its score, and the floor it lifts it to. */
const CONTEXT_BOOST = 0.35;
const CONTEXT_FLOOR = 0.5;
const CONTEXT_BEFORE = 48;
const CONTEXT_AFTER = 24;
export const DEFAULT_MIN_SCORE = 0.4;

const contextRegexCache = new Map<string, RegExp | null>();
function contextRegex(words: string[]): RegExp | null {
  const key = words.join('\u0000');
  let re = contextRegexCache.get(key);
  if (re === undefined) {
    const escaped = words.filter(Boolean).map((w) => w.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    re = escaped.length ? new RegExp(`(?:^|[^a-z0-9])(?:${escaped.join('|')})(?![a-z0-9])`, 'i') : null;
    if (contextRegexCache.size > 1000) contextRegexCache.clear();
    contextRegexCache.set(key, re);
  }
  return re;
}

const contextByRecognizer = new Map<string, string[]>(BUILTIN_PATTERNS.map((r) => [r.name, r.context]));
contextByRecognizer.set('PhoneRecognizer', PHONE_CONTEXT);

/**
 * Words right before a match that make it something else: "Version 10.2.3.4" is no IP address,
 * "Order 415-555-0132" no phone number. Such a match keeps at most NEGATIVE_CEILING (below the
 * default minimum score) and is not raised by positive context.
 */
const VERSION_WORDS =
  'version|ver|v|build|release|rel|firmware|fw|rev|revision|patch|update|sdk|kernel|oid|snmp|table|section|figure|fig|chapter|step|tag|image';
const NEGATIVE_CONTEXT: Record<string, RegExp> = {
  // "Version 10.2.3.4", "docker tag app:1.2.3.4".
  IpRecognizer: new RegExp(`\\b(?:${VERSION_WORDS})\\b[\\s:#.=-]*(?:[\\w.-]+:)?$`, 'i'),
  // "lodash@4.17.21", "v1.12.20".
  DateRecognizer: new RegExp(`(?:\\b(?:${VERSION_WORDS})\\b[\\s:#.=-]*|[\\w-]@|\\bv)$`, 'i'),
  PhoneRecognizer:
    /\b(?:order|invoice|ticket|ref|reference|isbn|sku|tracking|build|version|serial|case|po|part|model|batch|lot)\b[\s:#.=-]*(?:no\.?|number|nr\.?|id)?[\s:#.=-]*$/i,
};
const NEGATIVE_WINDOW = 24;
const NEGATIVE_CEILING = 0.2;

/** Scores candidates by the words around them, per recognizer (the regexes are built once per call). */
function contextScorer(text: string, custom: Map<string, string[]> | undefined, extra: string[] | undefined) {
  const regexes = new Map<string, RegExp | null>();
  const regexFor = (recognizer: string): RegExp | null => {
    let re = regexes.get(recognizer);
    if (re === undefined) {
      const words = contextByRecognizer.get(recognizer) ?? custom?.get(recognizer);
      const all = extra?.length ? [...(words ?? []), ...extra] : words;
      re = all?.length ? contextRegex(all) : null;
      regexes.set(recognizer, re);
    }
    return re;
  };
  // Candidates are rescored in place: a dense megabyte has 100,000 of them.
  return (c: Candidate): void => {
    const negative = NEGATIVE_CONTEXT[c.recognizer];
    if (negative?.test(text.slice(Math.max(0, c.start - NEGATIVE_WINDOW), c.start))) {
      c.score = Math.min(c.score, NEGATIVE_CEILING);
      return;
    }
    // A candidate scoring 1 (an email address) cannot be raised: its context is not looked at.
    const re = c.score < 1 ? regexFor(c.recognizer) : null;
    // Before and after are tested apart: no string is built per candidate.
    if (re && (re.test(text.slice(Math.max(0, c.start - CONTEXT_BEFORE), c.start)) || re.test(text.slice(c.end, c.end + CONTEXT_AFTER))))
      c.score = Math.min(1, Math.max(c.score + CONTEXT_BOOST, CONTEXT_FLOOR));
  };
}

type Span = { start: number; end: number; score: number };
const byPriority = (a: Span, b: Span) => b.score - a.score || b.end - b.start - (a.end - a.start) || a.start - b.start;

/** Greedy resolution inside one cluster of overlapping spans: a bitmap of the covered characters. */
function resolveCluster<T extends Span>(cluster: T[], from: number, to: number, out: T[]): void {
  if (cluster.length === 1) {
    out.push(cluster[0]);
    return;
  }
  const covered = new Uint8Array(to - from);
  const accepted: T[] = [];
  for (const c of cluster.sort(byPriority)) {
    let free = true;
    for (let i = c.start - from; i < c.end - from; i++)
      if (covered[i]) {
        free = false;
        break;
      }
    if (!free) continue;
    covered.fill(1, c.start - from, c.end - from);
    accepted.push(c);
  }
  for (const c of accepted.sort((a, b) => a.start - b.start)) out.push(c);
}

/**
 * Higher score wins, then the longer span; the loser of an overlap is dropped. Spans are sorted by
 * start and split into clusters of mutually overlapping spans (a span only competes inside its
 * cluster), each resolved greedily with a bitmap of covered characters: O(n log n) in the number of
 * candidates and linear in their total length, however dense the text.
 */
export function resolveOverlaps<T extends Span>(candidates: T[]): T[] {
  const sorted = [...candidates].sort((a, b) => a.start - b.start);
  const out: T[] = [];
  let cluster: T[] = [];
  let from = 0;
  let to = -1;
  for (const c of sorted) {
    if (c.start >= to && cluster.length) {
      resolveCluster(cluster, from, to, out);
      cluster = [];
    }
    if (!cluster.length) {
      from = c.start;
      to = c.end;
    } else if (c.end > to) to = c.end;
    cluster.push(c);
  }
  if (cluster.length) resolveCluster(cluster, from, to, out);
  return out;
}

function findDenied(text: string, values: string[], type: string): Candidate[] {
  const out: Candidate[] = [];
  const lower = text.toLowerCase();
  for (const value of values) {
    const v = value.toLowerCase();
    if (!v) continue;
    for (let at = lower.indexOf(v); at >= 0; at = lower.indexOf(v, at + v.length)) {
      const before = at === 0 ? '' : lower[at - 1];
      const after = lower[at + v.length] ?? '';
      if (/[a-z0-9]/.test(before) || /[a-z0-9]/.test(after)) continue;
      out.push({ type, start: at, end: at + v.length, score: 1, recognizer: 'DenyListRecognizer' });
    }
  }
  return out;
}

/** Finds PII in `text`: candidates from every recognizer, context-scored, filtered, de-overlapped. */
export function analyzeText(text: string, opts: AnalyzeOptions = {}): DetectedEntity[] {
  const wanted = opts.entities?.length ? new Set(opts.entities) : undefined;
  const want = (type: string) => !wanted || wanted.has(type);
  const ropts = { regions: (opts.regions?.length ? opts.regions : ['US', 'GB']) as CountryCode[] };
  const patterns = BUILTIN_PATTERNS.filter((r) => want(r.type));
  const candidates: Candidate[] = findPatterns(text, patterns, ropts);
  // Appended in loops: `push(...list)` of a dense megabyte's 100,000 candidates overflows the stack.
  const add = (list: Candidate[], check: boolean) => {
    for (const c of list) if (!check || want(c.type)) candidates.push(c);
  };
  if (want('PHONE_NUMBER')) add(findPhoneNumbers(text, ropts), false);
  const ner = opts.ner ?? 'fast';
  if (ner !== 'off' && (want('PERSON') || want('LOCATION') || want('ORGANIZATION')))
    add(findNamedEntities(text, { tagger: ner === 'full' }), true);
  if (opts.custom) add(opts.custom.find(text), true);
  if (opts.denyList?.length) add(findDenied(text, opts.denyList, opts.denyListType ?? 'DENY_LIST'), false);

  return entitiesOf(text, candidates, opts);
}

/** Candidates scored by their context, filtered and de-overlapped: the entities. */
function entitiesOf(text: string, candidates: Candidate[], opts: AnalyzeOptions): DetectedEntity[] {
  const minScore = opts.minScore ?? DEFAULT_MIN_SCORE;
  const score = contextScorer(text, opts.custom?.context, opts.extraContext);
  const allow = opts.allowList?.length ? new Set(opts.allowList.map((v) => v.toLowerCase())) : undefined;
  const kept: Candidate[] = [];
  for (const candidate of candidates) {
    const c = candidate.type === 'URL' ? trimUrl(text, candidate) : candidate;
    score(c);
    if (c.score >= minScore && !allow?.has(text.slice(c.start, c.end).toLowerCase())) kept.push(c);
  }
  const includeText = opts.includeText === true;
  // The candidates (fresh objects with the fields of an entity) are the answer: no copy of each.
  const entities: DetectedEntity[] = resolveOverlaps(kept);
  for (const e of entities) {
    e.score = Math.round(e.score * 100) / 100;
    if (includeText) e.text = text.slice(e.start, e.end);
  }
  return entities;
}

/** Field names that say what a value holds: checked as that type first. */
const FIELD_HINTS: [RegExp, string][] = [
  [/e-?mail/i, 'EMAIL_ADDRESS'],
  [/phone|mobile|^tel$|telephone|fax|^cell/i, 'PHONE_NUMBER'],
  [/ssn|social_?security/i, 'US_SSN'],
  [/itin/i, 'US_ITIN'],
  [/passport/i, 'US_PASSPORT'],
  [/iban/i, 'IBAN_CODE'],
  [/card_?(?:number|no)|^cc_?(?:number|num)?$|credit_?card/i, 'CREDIT_CARD'],
  [/account_?(?:number|no)|bank_?account|routing/i, 'US_BANK_NUMBER'],
  [/nhs/i, 'UK_NHS'],
  [/nino|national_?insurance/i, 'UK_NINO'],
  [/^ip$|ip_?addr|remote_?addr|client_?ip/i, 'IP_ADDRESS'],
  [/mac_?addr/i, 'MAC_ADDRESS'],
  [/url|website|homepage|link/i, 'URL'],
  [/wallet|btc|eth_?addr/i, 'CRYPTO'],
  [/dob|birth|birthday|born/i, 'DATE_TIME'],
  [/(?:^|_)(?:first|last|full|given|family|middle|sur|maiden|display)?_?name$|^(?:name|patient|customer|contact|owner|author)$/i, 'PERSON'],
  [/company|employer|organi[sz]ation|^org$|institution/i, 'ORGANIZATION'],
  [/address|street|city|town|country|state|county|region|location|postcode|zip|place_of_birth/i, 'LOCATION'],
  [/secret|password|passwd|api_?key|token|private_?key|credential/i, 'SECRET'],
];

/** The entity type a field name suggests, if any. */
export function hintForField(name: string): string | undefined {
  for (const [re, type] of FIELD_HINTS) if (re.test(name)) return type;
  return undefined;
}

/** Types whose values a recognizer cannot confirm from the text alone: a hinted short value counts whole. */
const WHOLE_VALUE_TYPES = new Set(['PERSON', 'LOCATION', 'ORGANIZATION', 'SECRET', 'DATE_TIME']);
const MAX_WHOLE_VALUE = 200;

export interface DocumentOptions extends AnalyzeOptions {
  /** `pii` classification of fields by JSON path (`$.email`) or plain field name: always reported as that type. */
  classification?: Record<string, string>;
  /** Deepest nesting followed. */
  maxDepth?: number;
}

const pathKey = (key: string) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/**
 * Walks a JSON value, analyzing every string (numbers too, as text, since card and account numbers
 * arrive as numbers) with the field name as context and hint. `path` is the JSON path of the value.
 */
export function analyzeDocument(value: unknown, opts: DocumentOptions = {}, path = '$', field?: string, depth = 0): DetectedEntity[] {
  const maxDepth = opts.maxDepth ?? 32;
  if (depth > maxDepth) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => analyzeDocument(v, opts, `${path}[${i}]`, field, depth + 1));
  if (value && typeof value === 'object')
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => analyzeDocument(v, opts, path + pathKey(k), k, depth + 1));
  if (typeof value !== 'string' && typeof value !== 'number') return [];
  const text = String(value);
  if (!text) return [];
  const classified = opts.classification?.[path] ?? (field ? opts.classification?.[field] : undefined);
  const wanted = (type: string) => !opts.entities?.length || opts.entities.includes(type);
  if (classified && wanted(classified)) {
    return [
      {
        type: classified,
        start: 0,
        end: text.length,
        score: 1,
        recognizer: 'SchemaClassification',
        path,
        ...(opts.includeText ? { text } : {}),
      },
    ];
  }
  const hint = field ? hintForField(field) : undefined;
  const fieldWords = field
    ? field
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .filter(Boolean)
    : [];
  const found = analyzeText(text, { ...opts, extraContext: [...(opts.extraContext ?? []), ...fieldWords] }).map((e) => ({ ...e, path }));
  if (hint && wanted(hint) && WHOLE_VALUE_TYPES.has(hint) && text.length <= MAX_WHOLE_VALUE && !found.some((e) => e.type === hint)) {
    const kept = found.filter((e) => e.type !== 'PERSON' && e.type !== 'LOCATION' && e.type !== 'ORGANIZATION' && e.type !== 'DATE_TIME');
    const whole = {
      type: hint,
      start: 0,
      end: text.length,
      score: 0.7,
      recognizer: 'FieldNameHint',
      path,
      ...(opts.includeText ? { text } : {}),
    };
    return kept.some((e) => e.end - e.start === text.length) ? kept : [whole];
  }
  return found;
}
