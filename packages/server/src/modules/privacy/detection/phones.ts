import { createRequire } from 'node:module';
import type { CountryCode } from 'libphonenumber-js';
import type { Candidate, RecognizerOptions } from './recognizers.js';

/**
 * Phone numbers in text, in international (`+49 30 1234567`, `0049 …`, `+44 (0)20 …`) and national
 * forms (`(415) 555-0132`, `030 1234567`, `03-1234-5678`, `01 42 68 53 00`).
 *
 * A candidate pattern finds digit groups written like a phone number; each is checked against
 * libphonenumber-js's metadata (calling codes, national prefixes, possible lengths and the national
 * number pattern of each region). The patterns are compiled once, so a check costs a few regex
 * tests, not a full parse (which builds objects and recompiles metadata regexes on every call and
 * made dense text slow). A number is `valid` when a region's pattern matches it and `possible` when
 * only its length fits: possible numbers score lower and need a context word ("phone", "tel", …)
 * to be reported. National numbers are checked for the request's regions, then for regions hinted
 * by the words before them ("Berlin", "Tokyo", "Tel.:").
 */

/** The parts of libphonenumber-js's numbering plan used here (present at runtime, not all in its typings). */
interface PlanMethods {
  nationalNumberPattern(): string;
  possibleLengths(): number[];
  nationalPrefix(): string | undefined;
}
interface Plan {
  country: CountryCode;
  pattern: RegExp;
  lengths: Set<number>;
  prefix: string | undefined;
}
interface Plans {
  byCountry: Map<string, Plan>;
  byCallingCode: Map<string, Plan[]>;
}

const require = createRequire(import.meta.url);
let plans: Plans | undefined;

// libphonenumber-js (metadata for every region) is required on the first phone lookup, not at start.
function loadPlans(): Plans {
  if (plans) return plans;
  const lib = require('libphonenumber-js') as typeof import('libphonenumber-js');
  const metadata = new lib.Metadata();
  const out: Plans = { byCountry: new Map(), byCallingCode: new Map() };
  for (const country of lib.getCountries()) {
    metadata.selectNumberingPlan(country);
    const plan = metadata.numberingPlan as unknown as PlanMethods;
    const entry: Plan = {
      country,
      pattern: new RegExp(`^(?:${plan.nationalNumberPattern()})$`),
      lengths: new Set(plan.possibleLengths()),
      prefix: plan.nationalPrefix() || undefined,
    };
    out.byCountry.set(country, entry);
    const code = lib.getCountryCallingCode(country);
    const list = out.byCallingCode.get(code) ?? [];
    list.push(entry);
    out.byCallingCode.set(code, list);
  }
  plans = out;
  return out;
}

type Verdict = 'valid' | 'possible' | null;

/**
 * A national significant number for one region. Written nationally (`trunk`), a number of a region
 * with a trunk prefix ("0" in most of the world) is only `possible` with that prefix: without it a
 * matching length alone says nothing ("555-013" is no British number).
 */
function checkNational(nsn: string, plan: Plan, trunk: boolean): Verdict {
  if (trunk && plan.prefix && nsn.startsWith(plan.prefix)) {
    const stripped = nsn.slice(plan.prefix.length);
    if (plan.lengths.has(stripped.length)) return plan.pattern.test(stripped) ? 'valid' : 'possible';
  }
  if (!plan.lengths.has(nsn.length)) return null;
  if (plan.pattern.test(nsn)) return 'valid';
  return trunk && plan.prefix ? null : 'possible';
}

/** `+` or `00` followed by a calling code: the regions of that code decide. */
function checkInternational(digits: string, trunkInParens: boolean): Verdict {
  const { byCallingCode } = loadPlans();
  for (let len = 1; len <= 3 && len < digits.length; len++) {
    const regions = byCallingCode.get(digits.slice(0, len));
    if (!regions) continue;
    let nsn = digits.slice(len);
    // "+44 (0)20 …": the trunk prefix in parentheses is not dialled from abroad.
    if (trunkInParens && nsn.startsWith('0')) nsn = nsn.slice(1);
    let verdict: Verdict = null;
    for (const plan of regions) {
      const v = checkNational(nsn, plan, false);
      if (v === 'valid') return v;
      verdict ??= v;
    }
    // Calling codes are prefix-free: the first one found is the only one.
    return verdict;
  }
  return null;
}

/** Words before a national number that say which region it is from. */
const REGION_HINTS: [RegExp, CountryCode][] = [
  [
    /\b(?:germany|deutschland|german|berlin|m[u\u00fc]nchen|munich|hamburg|frankfurt|k[o\u00f6]ln|cologne|stuttgart|telefon|tel\.?:|gmbh)\b/i,
    'DE',
  ],
  [/\b(?:france|french|paris|lyon|marseille|t[\u00e9e]l[\u00e9e]phone|t[\u00e9e]l\.?|portable)\b/i, 'FR'],
  [/\b(?:japan|japanese|tokyo|osaka|kyoto|yokohama|denwa)\b/i, 'JP'],
  [/\b(?:india|indian|mumbai|delhi|bangalore|bengaluru|chennai|hyderabad|kolkata|pune)\b/i, 'IN'],
  [/\b(?:uk|u\.k\.|united kingdom|britain|british|england|london|manchester|birmingham|scotland|edinburgh|glasgow|wales)\b/i, 'GB'],
  [/\b(?:usa|u\.s\.|united states|america|canada|toronto|new york|california|texas)\b/i, 'US'],
];
const HINT_WINDOW = 64;

/** Candidate phone-like runs: digit groups with one separator between groups, optional `+`, parentheses and extension. */
const PHONE_CANDIDATE =
  /(?<![\w+./-])\+?(?:\(\d{1,5}\) ?)?\d{1,8}(?:(?:[ ./-]|[ .-]?\(0?\d{0,5}\) ?)\d{1,8}){0,6}(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w/-]|\.\d)|(?<![\w+])\+?\d{7,15}(?![\w-]|\.\d)/g;

const NANP_SHAPE = /^(?:\+?1[ .-]?)?(?:\((\d{3})\) ?|(?<area>\d{3})[-. ])(\d{3})[-. ]\d{4}(?:\s?(?:x|ext\.?)\s?\d{1,5})?$/;
const EXTENSION = /\s?(?:x|ext\.?)\s?\d+$/;
const DATE_LIKE = /^\d{4}[-./]\d{1,2}[-./]\d{1,2}|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$/;
/**
 * Dotted groups of at most three digits ("10.2.3.4", "1.2.10.300"): versions and addresses, not
 * phones; French numbers in pairs ("01.45.67.89.10") are phones.
 */
const DOTTED_SHORT_GROUPS = /^(?!\d\d(?:\.\d\d){4}$)\d{1,3}(?:\.\d{1,3}){2,}$/;

/** Scores: [valid, possible] for international, formatted national and bare national numbers. */
const SCORES = {
  international: [0.75, 0.5],
  formatted: [0.75, 0.3],
  bare: [0.35, 0.2],
} as const;

/** The digits of `s` (a loop: `replace(/\D/g, '')` was a third of the phone recognizer's time). */
function digitsOf(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) out += s[i];
  }
  return out;
}

/** The score of one candidate, or 0 when it is no phone number. */
function scoreCandidate(text: string, start: number, raw: string, regions: CountryCode[]): number {
  // Most candidates in dense text are short numbers (ids, amounts): rejected before any regex.
  const main = raw.includes('x') ? raw.replace(EXTENSION, '') : raw;
  // Versions and IPv4 addresses ("10.2.3.4") are the commonest rejects of dense text: tested first.
  if (DOTTED_SHORT_GROUPS.test(main)) return 0;
  const digits = digitsOf(main);
  if (digits.length < 7 || digits.length > 15 || DATE_LIKE.test(main)) return 0;
  // North American numbers are checked against the numbering plan directly (area code and exchange
  // start with 2–9, area code not N11).
  const nanp = NANP_SHAPE.exec(raw);
  if (nanp && (regions.includes('US') || regions.includes('CA') || main.startsWith('+1'))) {
    const area = nanp[1] ?? nanp.groups?.area ?? '';
    const plan = /^[2-9]\d\d$/.test(area) && !/^[2-9]11$/.test(area) && /^[2-9]/.test(nanp[3]);
    return plan ? 0.75 : 0.5;
  }
  if (main.startsWith('+') || /^00[1-9]/.test(main)) {
    const v = checkInternational(main.startsWith('+') ? digits : digits.slice(2), /\(0\)/.test(main));
    return v === 'valid' ? SCORES.international[0] : v === 'possible' ? SCORES.international[1] : 0;
  }
  // A bare run of digits is as likely an account or order number: it needs context.
  const [valid, possible] = /[()]|\d[-. /]\d/.test(main) ? SCORES.formatted : SCORES.bare;
  const { byCountry } = loadPlans();
  let best = 0;
  const tried = new Set<string>();
  const check = (region: string) => {
    if (tried.has(region)) return;
    tried.add(region);
    const plan = byCountry.get(region);
    const v = plan ? checkNational(digits, plan, true) : null;
    best = Math.max(best, v === 'valid' ? valid : v === 'possible' ? possible : 0);
  };
  for (const region of regions) check(region);
  if (best < valid) {
    const before = text.slice(Math.max(0, start - HINT_WINDOW), start);
    for (const [re, region] of REGION_HINTS) if (re.test(before)) check(region);
  }
  return best;
}

/** Phone numbers: valid for a region → 0.75, merely possible → lower (context lifts them). */
export function findPhoneNumbers(text: string, opts: RecognizerOptions): Candidate[] {
  const out: Candidate[] = [];
  PHONE_CANDIDATE.lastIndex = 0;
  for (let m = PHONE_CANDIDATE.exec(text); m; m = PHONE_CANDIDATE.exec(text)) {
    const score = scoreCandidate(text, m.index, m[0], opts.regions);
    if (score > 0) out.push({ type: 'PHONE_NUMBER', start: m.index, end: m.index + m[0].length, score, recognizer: 'PhoneRecognizer' });
  }
  return out;
}

export const PHONE_CONTEXT = [
  'phone',
  'call',
  'tel',
  'telephone',
  'mobile',
  'cell',
  'fax',
  'contact',
  'reach',
  'dial',
  'whatsapp',
  'sms',
  'text',
];
