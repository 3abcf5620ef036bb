import { describe, expect, it } from 'vitest';
import { analyzeText } from './analyzer.js';
import { placeContextBefore } from './ner.js';
import { PLACE_CONTEXT } from './ner-words.js';
import { BUILTIN_PATTERNS, findPatterns } from './recognizers.js';

const opts = { regions: [] };

/** What a plain scan of the whole text with the recognizer's regex finds (the reference). */
function wholeTextScan(text: string, name: string) {
  return BUILTIN_PATTERNS.filter((r) => r.name === name).flatMap((r) => {
    const re = new RegExp(r.pattern.source, r.pattern.flags);
    return [...text.matchAll(re)]
      .filter((m) => m[0].length > 0 && (!r.validate || r.validate(m[0], opts) !== null))
      .map((m) => ({ start: m.index, end: m.index + m[0].length }));
  });
}

/** Seeded so that a failure can be replayed. */
function random(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

// Pieces that make near misses and real matches of the anchored and scanned recognizers likely.
const PIECES = [
  'a',
  'B',
  'f',
  'F',
  '0',
  '1',
  '9',
  '12',
  '192',
  '255',
  '256',
  'ab',
  'AB12',
  'dead',
  'beef',
  '.',
  ':',
  '::',
  '-',
  '@',
  ' ',
  '\n',
  '_',
  '+',
  '/',
  '=',
  '%',
  'x.y',
  'mail',
  '.com',
  'é',
  '日本',
  'k9Vq2Lm8Zx4Tr7Wp',
  '00:1A:2B',
  'fe80',
  '192.168.1.20',
  '1.2.3',
  '.4',
  'john.doe',
  '@x.io',
  '0a1b.2c3d',
  'co.uk',
];

describe('anchored and scanned recognizers', () => {
  const special = BUILTIN_PATTERNS.filter((r) => r.anchor || r.scan);

  it('covers the recognizers that skip the whole-text scan', () => {
    expect(new Set(special.map((r) => r.name))).toEqual(
      new Set(['EmailRecognizer', 'IpRecognizer', 'Ipv6Recognizer', 'MacRecognizer', 'HighEntropyTokenRecognizer']),
    );
  });

  it('find exactly what a scan of the whole text with their regex finds', () => {
    const next = random(20261207);
    for (let i = 0; i < 3000; i++) {
      let text = '';
      const parts = 1 + Math.floor(next() * 40);
      for (let p = 0; p < parts; p++) text += PIECES[Math.floor(next() * PIECES.length)];
      for (const name of new Set(special.map((r) => r.name))) {
        const got = findPatterns(
          text,
          special.filter((r) => r.name === name),
          opts,
        ).map(({ start, end }) => ({ start, end }));
        const want = wholeTextScan(text, name).sort((a, b) => a.start - b.start);
        got.sort((a, b) => a.start - b.start);
        if (JSON.stringify(got) !== JSON.stringify(want)) expect({ name, text, got }).toEqual({ name, text, got: want });
      }
    }
  });

  it('find entities at the edges of the text and next to each other', () => {
    const text = 'a@b.co,c@d.io 10.0.0.1.10.0.0.2 00:1a:2b:3c:4d:5e 0a1b.2c3d.4e5f ::1 fe80::1%eth0';
    const types = findPatterns(text, BUILTIN_PATTERNS, opts).map((c) => [c.type, text.slice(c.start, c.end)]);
    expect(types).toEqual(
      expect.arrayContaining([
        ['EMAIL_ADDRESS', 'a@b.co'],
        ['EMAIL_ADDRESS', 'c@d.io'],
        ['MAC_ADDRESS', '00:1a:2b:3c:4d:5e'],
        ['MAC_ADDRESS', '0a1b.2c3d.4e5f'],
        ['IP_ADDRESS', '::1'],
      ]),
    );
  });
});

describe('place context before a name', () => {
  const WORDS = [
    'in',
    'In',
    'IN',
    'from',
    'to',
    'moved',
    'flew',
    'of',
    'city',
    'lives',
    'visited',
    'x9',
    '_',
    'within',
    'towards',
    'near',
    'Anna',
    '5',
    'city of',
    'moved to',
    'born in',
    'visiting',
  ];
  const GAPS = [' ', '  ', '\t', '\n', '\u00a0', '', ',', '. '];

  it('decides as PLACE_CONTEXT does on the 24 characters before the name', () => {
    const next = random(7);
    for (let i = 0; i < 5000; i++) {
      let text = '';
      const n = 1 + Math.floor(next() * 8);
      for (let w = 0; w < n; w++) text += WORDS[Math.floor(next() * WORDS.length)] + GAPS[Math.floor(next() * GAPS.length)];
      const start = text.length;
      text += 'Tokyo';
      const want = PLACE_CONTEXT.test(text.slice(Math.max(0, start - 24), start));
      if (placeContextBefore(text, start) !== want) expect({ text, got: !want }).toEqual({ text, got: want });
    }
  });
});

describe('dense text', () => {
  it('analyzes 4 MB with a name every 28 bytes (more candidates than a call may spread) without failing', () => {
    const text = 'From 192.168.1.20 in Tokyo. '.repeat(150_000);
    const entities = analyzeText(text, { entities: ['LOCATION'] });
    expect(entities).toHaveLength(150_000);
    expect(text.slice(entities[149_999].start, entities[149_999].end)).toBe('Tokyo');
  });
});
