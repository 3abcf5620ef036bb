import { isIPv6 } from 'node:net';
import type { CountryCode } from 'libphonenumber-js';
import { base58CheckValid, bech32Valid, ibanValid, itinValid, luhnValid, nhsValid, shannonEntropy, ssnValid } from './checksums.js';

/** A span a recognizer found, before context scoring and overlap resolution. */
export interface Candidate {
  type: string;
  start: number;
  end: number;
  score: number;
  recognizer: string;
}

export interface RecognizerOptions {
  /** ISO 3166 regions phone numbers are parsed for, in order (`US`, `GB`, …). */
  regions: CountryCode[];
}

/**
 * A regex recognizer: every match is validated (checksums, structure) before it counts;
 * `validate` returns the match's base score or null to reject it. Context words near the match
 * raise the score later (see analyzer.ts).
 */
export interface PatternRecognizer {
  name: string;
  type: string;
  pattern: RegExp;
  /** Base score when `validate` is absent. */
  score: number;
  context: string[];
  /** Capture group holding the entity when the regex needs surrounding characters (default 0). */
  group?: number;
  validate?(match: string, opts: RecognizerOptions): number | null;
  /** A cheap test of the whole text: when it fails the pattern cannot match and is not run. */
  prefilter?: RegExp;
  /**
   * Characters every match holds within `lead` characters of its start (the `@` of an email), with
   * only `leading` characters (at least `minLead`) before the first of them: the pattern is tried
   * only at those few positions before each anchor character instead of at every position of the
   * text. Gives exactly the matches of a scan of the whole text (see `eachMatch`).
   */
  anchor?: Anchor;
  /** A hand-written scanner that finds exactly the pattern's matches (start, end), used in its place. */
  scan?(text: string, each: (start: number, end: number) => void): void;
}

export interface Anchor {
  chars: string;
  lead: number;
  minLead: number;
  /** The characters that may stand between a match's start and its first anchor character. */
  leading: Uint8Array;
}

/** An ASCII lookup table of the characters of a regex character class. */
function charClass(cls: string): Uint8Array {
  const re = new RegExp(`^[${cls}]$`);
  return Uint8Array.from({ length: 128 }, (_, c) => (re.test(String.fromCharCode(c)) ? 1 : 0));
}

/**
 * The maximal runs of `chars` whose length is within [min, max]: what
 * `(?<![chars])[chars]{min,max}(?![chars])` matches, without a regex attempt at every position.
 */
function runsOf(chars: Uint8Array, min: number, max: number) {
  return (text: string, each: (start: number, end: number) => void): void => {
    const n = text.length;
    for (let i = 0; i < n; i++) {
      if (chars[text.charCodeAt(i)] !== 1) continue;
      const start = i;
      while (i < n && chars[text.charCodeAt(i)] === 1) i++;
      if (i - start >= min && i - start <= max) each(start, i);
    }
  };
}

const isDigit = (c: number) => c >= 48 && c <= 57;
/** What `\w` matches. */
const isWordChar = (c: number) => isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;

/** The character code at `i`, or -1 past the end (not NaN, which deoptimizes the scanners' compiled code). */
const codeAt = (text: string, i: number) => (i < text.length ? text.charCodeAt(i) : -1);

/** The end of the IPv4 octet (0–255, no leading zero) that is the whole digit run at `i`, or -1. */
function octetEnd(text: string, i: number): number {
  let end = i;
  let value = 0;
  while (end < text.length && isDigit(text.charCodeAt(end)) && end - i < 4) value = value * 10 + text.charCodeAt(end++) - 48;
  const len = end - i;
  if (len === 0 || len === 4 || (end < text.length && isDigit(text.charCodeAt(end)))) return -1;
  return value <= 255 && (len === 1 || text.charCodeAt(i) !== 48) ? end : -1;
}

/**
 * The matches of the IPv4 pattern `(?<!\d\.)\b<octet>(?:\.<octet>){3}\b(?!\.\d)`: each octet is a
 * whole digit run (one followed by a dot or a non-word character can only end where its digits do),
 * so a match is four such runs joined by single dots, tried where a digit run starts.
 */
function scanIpv4(text: string, each: (start: number, end: number) => void): void {
  const n = text.length;
  for (let i = text.indexOf('.'); i >= 0 && i < n; ) {
    // Dotted groups are found from their dots: back up over the digits before this one.
    let p = i;
    while (p > 0 && isDigit(text.charCodeAt(p - 1)) && i - p < 4) p--;
    let end = -1;
    const before = p > 0 ? text.charCodeAt(p - 1) : -1;
    if (p < i && !isWordChar(before) && !(before === 46 && p > 1 && isDigit(text.charCodeAt(p - 2)))) {
      end = octetEnd(text, p);
      for (let k = 0; k < 3 && end >= 0; k++) end = codeAt(text, end) === 46 ? octetEnd(text, end + 1) : -1;
      if (end >= 0 && (isWordChar(codeAt(text, end)) || (codeAt(text, end) === 46 && isDigit(codeAt(text, end + 1))))) end = -1;
    }
    if (end >= 0) each(p, end);
    i = text.indexOf('.', end >= 0 ? end : i + 1);
  }
}

const digitsOf = (s: string) => s.replace(/\D/g, '');

/** Separators in a number must be used consistently ("123-45-6789", not "123-45 6789"). */
function consistentSeparators(s: string): boolean {
  const seps = s.replace(/[0-9A-Za-z]/g, '');
  return seps.length === 0 || [...seps].every((c) => c === seps[0]);
}

const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|22)|35|62|8[18])/;

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';

/** Date formats a regex can find; each validated as a real calendar date. */
const MONTH_NAMES =
  '(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\\.?';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function validDate(y: number, m: number, d: number): boolean {
  if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1) return false;
  const leap = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= DAYS_IN_MONTH[m - 1] + (leap ? 1 : 0);
}

const MONTH_PREFIXES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function monthIndex(name: string): number {
  return MONTH_PREFIXES.indexOf(name.slice(0, 3).toLowerCase()) + 1;
}

function dateScore(s: string): number | null {
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(s);
  if (m) return validDate(+m[1], +m[2], +m[3]) ? 0.85 : null;
  m = /^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})$/.exec(s);
  if (m) {
    const y = m[4].length === 2 ? 1900 + +m[4] : +m[4];
    const ok = validDate(y, +m[1], +m[3]) || validDate(y, +m[3], +m[1]);
    return ok ? (m[4].length === 4 ? 0.6 : 0.4) : null;
  }
  m = /^(\d{1,2})(?:st|nd|rd|th)?\s+([A-Za-z]+)\.?,?\s+(\d{4})$/.exec(s);
  if (m) return validDate(+m[3], monthIndex(m[2]), +m[1]) ? 0.85 : null;
  m = /^([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$/.exec(s);
  if (m) return validDate(+m[3], monthIndex(m[1]), +m[2]) ? 0.85 : null;
  return null;
}

export const BUILTIN_PATTERNS: PatternRecognizer[] = [
  {
    name: 'EmailRecognizer',
    type: 'EMAIL_ADDRESS',
    pattern: /\b[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}\b/g,
    score: 1,
    context: ['email', 'e-mail', 'mail', 'contact'],
    anchor: { chars: '@', lead: 64, minLead: 1, leading: charClass('A-Za-z0-9._%+-') },
    validate: (m) => (m.includes('..') ? null : 1),
  },
  {
    name: 'CreditCardRecognizer',
    type: 'CREDIT_CARD',
    pattern: /\b(?:\d[ -]?){12,18}\d\b/g,
    score: 1,
    context: ['card', 'credit', 'visa', 'mastercard', 'amex', 'payment', 'cc'],
    validate: (m) => {
      const d = digitsOf(m);
      if (d.length < 13 || d.length > 19 || !consistentSeparators(m)) return null;
      return CARD_PREFIX.test(d) && luhnValid(d) ? 1 : null;
    },
  },
  {
    name: 'IbanRecognizer',
    type: 'IBAN_CODE',
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g,
    score: 1,
    context: ['iban', 'bank', 'account', 'transfer'],
    validate: (m) => (ibanValid(m.replace(/ /g, '')) ? 1 : null),
  },
  {
    name: 'UsSsnRecognizer',
    type: 'US_SSN',
    pattern: /\b\d{3}([- .]?)\d{2}\1\d{4}\b/g,
    score: 0.5,
    context: ['ssn', 'social', 'security', 'ss#', 'ssn#', 'ssid'],
    validate: (m) => {
      const d = digitsOf(m);
      if (!ssnValid(d)) return null;
      return d.length === m.length ? 0.3 : m.includes('-') ? 0.85 : 0.5;
    },
  },
  {
    name: 'UsItinRecognizer',
    type: 'US_ITIN',
    pattern: /\b9\d{2}([- ]?)\d{2}\1\d{4}\b/g,
    score: 0.85,
    context: ['itin', 'taxpayer', 'tax', 'individual'],
    validate: (m) => {
      const d = digitsOf(m);
      if (!itinValid(d)) return null;
      return d.length === m.length ? 0.3 : 0.85;
    },
  },
  {
    name: 'UsPassportRecognizer',
    type: 'US_PASSPORT',
    // Current books: 9 digits; next-generation books: one letter and 8 digits.
    pattern: /\b(?:[A-Z]\d{8}|\d{9})\b/g,
    score: 0.1,
    context: ['passport', 'travel', 'document'],
  },
  {
    name: 'UsBankRecognizer',
    type: 'US_BANK_NUMBER',
    pattern: /\b\d{8,17}\b/g,
    score: 0.05,
    context: ['bank', 'account', 'acct', 'checking', 'savings', 'routing', 'debit'],
  },
  {
    name: 'NhsRecognizer',
    type: 'UK_NHS',
    pattern: /\b\d{3}([- ]?)\d{3}\1\d{4}\b/g,
    score: 0.5,
    context: ['nhs', 'health', 'patient', 'national health'],
    validate: (m) => (nhsValid(digitsOf(m)) ? 0.5 : null),
  },
  {
    name: 'UkNinoRecognizer',
    type: 'UK_NINO',
    pattern: /\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b/g,
    score: 0.85,
    context: ['nino', 'national insurance', 'ni number', 'insurance'],
  },
  {
    name: 'IpRecognizer',
    type: 'IP_ADDRESS',
    pattern: new RegExp(`(?<!\\d\\.)\\b${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}\\b(?!\\.\\d)`, 'g'),
    score: 0.9,
    context: ['ip', 'address', 'host', 'server', 'client'],
    scan: scanIpv4,
  },
  {
    name: 'Ipv6Recognizer',
    type: 'IP_ADDRESS',
    pattern: /(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])/g,
    score: 0.9,
    context: ['ip', 'ipv6', 'address', 'host'],
    anchor: { chars: ':', lead: 4, minLead: 0, leading: charClass('0-9A-Fa-f') },
    validate: (m) => (m.length >= 3 && isIPv6(m) && /[0-9A-Fa-f]/.test(m) ? 0.9 : null),
  },
  // Two recognizers, one per notation, so that each is tried only where its separator stands.
  {
    name: 'MacRecognizer',
    type: 'MAC_ADDRESS',
    pattern: /\b[0-9A-Fa-f]{2}([:-])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}\b/g,
    score: 0.9,
    context: ['mac', 'hardware', 'ethernet', 'device'],
    anchor: { chars: ':-', lead: 2, minLead: 2, leading: charClass('0-9A-Fa-f') },
  },
  {
    name: 'MacRecognizer',
    type: 'MAC_ADDRESS',
    pattern: /\b[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\b/g,
    score: 0.9,
    context: ['mac', 'hardware', 'ethernet', 'device'],
    anchor: { chars: '.', lead: 4, minLead: 4, leading: charClass('0-9A-Fa-f') },
  },
  {
    name: 'UrlRecognizer',
    type: 'URL',
    pattern: /\b(?:https?|ftp):\/\/[^\s<>"'`]+|\bwww\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^\s<>"'`]*/g,
    score: 0.8,
    context: ['url', 'website', 'link', 'site', 'web'],
  },
  {
    name: 'BitcoinRecognizer',
    type: 'CRYPTO',
    pattern: /\b(?:[13][a-km-zA-HJ-NP-Z1-9]{25,34}|(?:bc1|BC1)[ac-hj-np-zAC-HJ-NP-Z02-9]{11,71})\b/g,
    score: 1,
    context: ['wallet', 'bitcoin', 'btc', 'crypto', 'address'],
    validate: (m) => ((m.toLowerCase().startsWith('bc1') ? bech32Valid(m) : base58CheckValid(m)) ? 1 : null),
  },
  {
    name: 'EthereumRecognizer',
    type: 'CRYPTO',
    pattern: /\b0x[0-9a-fA-F]{40}\b/g,
    score: 0.9,
    context: ['wallet', 'ethereum', 'eth', 'crypto', 'address'],
  },
  {
    name: 'DateRecognizer',
    type: 'DATE_TIME',
    pattern: new RegExp(
      [
        '\\b\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?\\b',
        '\\b\\d{1,2}([/.-])\\d{1,2}\\1(?:\\d{4}|\\d{2})\\b',
        `\\b\\d{1,2}(?:st|nd|rd|th)?\\s+${MONTH_NAMES},?\\s+\\d{4}\\b`,
        `\\b${MONTH_NAMES}\\s+\\d{1,2}(?:st|nd|rd|th)?,?\\s+\\d{4}\\b`,
      ].join('|'),
      'g',
    ),
    score: 0.6,
    context: ['born', 'birth', 'dob', 'birthday', 'date', 'd.o.b'],
    validate: (m) => dateScore(m),
  },
  {
    name: 'PrivateKeyRecognizer',
    type: 'SECRET',
    prefilter: /-----BEGIN /,
    pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]{16,8192}?-----END [A-Z ]*PRIVATE KEY-----/g,
    score: 1,
    context: [],
  },
  {
    name: 'JwtRecognizer',
    type: 'SECRET',
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}/g,
    score: 0.95,
    context: ['token', 'jwt', 'bearer', 'authorization'],
  },
  {
    name: 'ApiKeyRecognizer',
    type: 'SECRET',
    // Known prefixes: AWS access keys, GitHub, Slack, Stripe, Google, OpenAI, Anthropic, GitLab, npm, SendGrid, Loam.
    pattern:
      /\b(?:(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255}|xox[abposr]-[A-Za-z0-9-]{10,72}|(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,99}|AIza[0-9A-Za-z_-]{35}|sk-(?:proj-|ant-)?[A-Za-z0-9_-]{32,200}|glpat-[A-Za-z0-9_-]{20}|npm_[A-Za-z0-9]{36}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|loam_sk_[A-Za-z0-9_]{20,})/g,
    score: 1,
    context: ['key', 'token', 'secret', 'api'],
  },
  {
    name: 'AwsSecretKeyRecognizer',
    type: 'SECRET',
    pattern: /(?<=(?:aws_secret_access_key|secret_access_key|SecretAccessKey)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+]{40}\b/gi,
    prefilter: /secret_?access_?key/i,
    score: 1,
    context: [],
  },
  {
    name: 'HighEntropyTokenRecognizer',
    type: 'SECRET',
    pattern: /(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{24,200}(?![A-Za-z0-9+/_=-])/g,
    scan: runsOf(charClass('A-Za-z0-9+/_=-'), 24, 200),
    score: 0.5,
    context: ['key', 'token', 'secret', 'password', 'passwd', 'pwd', 'credential', 'auth', 'apikey', 'api_key'],
    validate: (m) => {
      // Mixed letters and digits with high entropy: random tokens, not words, ids or hex hashes of files.
      if (!/[0-9]/.test(m) || !/[a-z]/.test(m) || !/[A-Z]/.test(m)) return null;
      return shannonEntropy(m) >= 4.2 ? 0.5 : null;
    },
  },
];

const stickyCopies = new WeakMap<RegExp, RegExp>();
function sticky(re: RegExp): RegExp {
  let copy = stickyCopies.get(re);
  if (!copy) {
    copy = new RegExp(re.source, `${re.flags.replace('g', '')}y`);
    stickyCopies.set(re, copy);
  }
  return copy;
}

/** The next position at or after `from` of any of `chars` (each char's next position is remembered). */
function anchorFinder(text: string, chars: string): (from: number) => number {
  const next = Array.from(chars, () => -2);
  return (from) => {
    let best = -1;
    for (let i = 0; i < chars.length; i++) {
      if (next[i] !== -1 && next[i] < from) next[i] = text.indexOf(chars[i], from);
      if (next[i] >= 0 && (best < 0 || next[i] < best)) best = next[i];
    }
    return best;
  };
}

/**
 * The non-empty matches of `r.pattern` in `text`, in order. With an anchor, the pattern (sticky) is
 * tried only at the `lead` positions before each anchor character, in increasing order: a match
 * holds its first anchor character within `lead` of its start, so no match is missed and each is
 * found at the position a scan of the whole text would find it.
 */
function eachMatch(text: string, r: PatternRecognizer, each: (m: RegExpExecArray) => void): void {
  if (!r.anchor) {
    r.pattern.lastIndex = 0;
    for (let m = r.pattern.exec(text); m; m = r.pattern.exec(text)) {
      if (m[0].length === 0) r.pattern.lastIndex++;
      else each(m);
    }
    return;
  }
  const re = sticky(r.pattern);
  const { lead, minLead, leading } = r.anchor;
  const nextAnchor = anchorFinder(text, r.anchor.chars);
  let pos = 0;
  for (let at = nextAnchor(pos); at >= 0; at = nextAnchor(pos)) {
    let first = at;
    const floor = Math.max(pos, at - lead);
    while (first > floor && leading[text.charCodeAt(first - 1)] === 1) first--;
    let matched = false;
    for (let p = first; p <= at - minLead && !matched; p++) {
      re.lastIndex = p;
      const m = re.exec(text);
      if (m && m[0].length > 0) {
        matched = true;
        pos = m.index + m[0].length;
        each(m);
      }
    }
    if (!matched) pos = at + 1;
  }
}

/** Runs every pattern recognizer over `text`. */
export function findPatterns(text: string, recognizers: PatternRecognizer[], opts: RecognizerOptions): Candidate[] {
  const out: Candidate[] = [];
  for (const r of recognizers) {
    if (r.prefilter && !r.prefilter.test(text)) continue;
    if (r.scan) {
      r.scan(text, (start, end) => {
        const score = r.validate ? r.validate(text.slice(start, end), opts) : r.score;
        if (score !== null) out.push({ type: r.type, start, end, score, recognizer: r.name });
      });
      continue;
    }
    eachMatch(text, r, (m) => {
      const value = r.group ? m[r.group] : m[0];
      if (value === undefined) return;
      const start = r.group ? m.index + m[0].indexOf(value) : m.index;
      const score = r.validate ? r.validate(value, opts) : r.score;
      if (score !== null) out.push({ type: r.type, start, end: start + value.length, score, recognizer: r.name });
    });
  }
  return out;
}

/** URLs end before trailing punctuation that belongs to the sentence. */
export function trimUrl(text: string, c: Candidate): Candidate {
  let end = c.end;
  while (end > c.start && /[.,;:!?)\]}]/.test(text[end - 1])) end--;
  return end === c.end ? c : { ...c, end };
}
