import { describe, expect, it } from 'vitest';
import { type AnalyzeOptions, analyzeDocument, analyzeText, resolveOverlaps } from './analyzer.js';
import { base58CheckValid, bech32Valid, ibanValid, luhnValid, nhsValid, ssnValid } from './checksums.js';

/** `[type, text]` of every entity found. */
const found = (text: string, opts: AnalyzeOptions = {}) => analyzeText(text, { includeText: true, ...opts }).map((e) => [e.type, e.text]);
const has = (text: string, type: string, value: string, opts?: AnalyzeOptions) =>
  found(text, opts).some(([t, v]) => t === type && v === value);
const hasType = (text: string, type: string, opts?: AnalyzeOptions) => found(text, opts).some(([t]) => t === type);

/** Each recognizer: a valid example, one whose checksum (or rule) fails, and a near miss. */
const cases: { type: string; valid: [string, string]; invalid: string; nearMiss: string }[] = [
  {
    type: 'EMAIL_ADDRESS',
    valid: ['Write to jane.doe+tag@mail.example.org today', 'jane.doe+tag@mail.example.org'],
    invalid: 'Write to jane..doe@example.org',
    nearMiss: 'jane at example dot org',
  },
  {
    type: 'CREDIT_CARD',
    valid: ['Card 4111 1111 1111 1111 on file', '4111 1111 1111 1111'],
    invalid: 'Card 4111 1111 1111 1112 on file',
    nearMiss: 'Card 4111 1111 1111 on file',
  },
  {
    type: 'IBAN_CODE',
    valid: ['Pay to GB82 WEST 1234 5698 7654 32 now', 'GB82 WEST 1234 5698 7654 32'],
    invalid: 'Pay to GB82 WEST 1234 5698 7654 33 now',
    nearMiss: 'Pay to GB82 WEST 1234 now',
  },
  { type: 'US_SSN', valid: ['SSN: 536-22-1234', '536-22-1234'], invalid: 'SSN: 666-22-1234', nearMiss: 'SSN: 536-22-123' },
  {
    type: 'US_ITIN',
    valid: ['ITIN 912-70-1234 filed', '912-70-1234'],
    invalid: 'ITIN 912-40-1234 filed',
    nearMiss: 'ITIN 912-70-123 filed',
  },
  {
    type: 'US_PASSPORT',
    valid: ['passport number 912803456', '912803456'],
    invalid: 'passport number 91280345',
    nearMiss: 'order number 912803456 shipped',
  },
  {
    type: 'US_BANK_NUMBER',
    valid: ['bank account 00012345678901', '00012345678901'],
    invalid: 'bank account 1234567',
    nearMiss: 'invoice 00012345678901 paid',
  },
  {
    type: 'UK_NHS',
    valid: ['NHS number 943 476 5919', '943 476 5919'],
    invalid: 'NHS number 943 476 5918',
    nearMiss: 'NHS number 943 476 591',
  },
  {
    type: 'UK_NINO',
    valid: ['NI number AB 12 34 56 C', 'AB 12 34 56 C'],
    invalid: 'NI number BG 12 34 56 C',
    nearMiss: 'NI number AB 12 34 56 E',
  },
  {
    type: 'IP_ADDRESS',
    valid: ['from 192.168.10.20 today', '192.168.10.20'],
    invalid: 'from 256.168.10.20 today',
    nearMiss: 'version 1.2.3 today',
  },
  {
    type: 'MAC_ADDRESS',
    valid: ['mac 00:1A:2B:3C:4D:5E here', '00:1A:2B:3C:4D:5E'],
    invalid: 'mac 00:1A-2B:3C:4D:5E here',
    nearMiss: 'mac 00:1A:2B:3C:4D here',
  },
  {
    type: 'URL',
    valid: ['see https://example.com/a?b=1.', 'https://example.com/a?b=1'],
    invalid: 'see https:/example.com',
    nearMiss: 'see example dot com',
  },
  {
    type: 'CRYPTO',
    valid: ['send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 now', '1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2'],
    invalid: 'send to 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3 now',
    nearMiss: 'send to 1BvBMSEYstWetq now',
  },
  {
    type: 'DATE_TIME',
    valid: ['born on March 12, 1985 in', 'March 12, 1985'],
    invalid: 'born on 1985-02-30 in',
    nearMiss: 'room 13/13/2020 in',
  },
  {
    type: 'SECRET',
    valid: ['aws key AKIAIOSFODNN7EXAMPLE leaked', 'AKIAIOSFODNN7EXAMPLE'],
    invalid: 'aws key AKIAIOSFODNN7EXAMPL leaked',
    nearMiss: 'the word AKIA appears',
  },
  {
    type: 'PHONE_NUMBER',
    valid: ['Call (415) 555-0132 today', '(415) 555-0132'],
    invalid: 'Call (415) 555-013 today',
    nearMiss: 'Call 12345 today',
  },
];

describe('recognizers', () => {
  for (const c of cases) {
    it(`${c.type}: finds a valid value, rejects a failed checksum or rule, ignores a near miss`, () => {
      expect(has(c.valid[0], c.type, c.valid[1])).toBe(true);
      expect(hasType(c.invalid, c.type)).toBe(false);
      expect(hasType(c.nearMiss, c.type)).toBe(false);
    });
  }

  it('bech32 and Ethereum addresses', () => {
    expect(has('to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq ok', 'CRYPTO', 'bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq')).toBe(true);
    expect(hasType('to bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp ok', 'CRYPTO')).toBe(false);
    expect(has('eth 0x52908400098527886E0F7030069857D2E4169EE7 ok', 'CRYPTO', '0x52908400098527886E0F7030069857D2E4169EE7')).toBe(true);
    expect(hasType('eth 0x52908400098527886E0F7030069857D2E4169EE ok', 'CRYPTO')).toBe(false);
  });

  it('IPv6, JWTs, PEM private keys, known API-key prefixes and high-entropy tokens near context', () => {
    expect(has('host 2001:db8:85a3::8a2e:370:7334 up', 'IP_ADDRESS', '2001:db8:85a3::8a2e:370:7334')).toBe(true);
    expect(hasType('time 12:30:45 up', 'IP_ADDRESS')).toBe(false);
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    expect(has(`Bearer ${jwt}`, 'SECRET', jwt)).toBe(true);
    const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx7a9\n-----END RSA PRIVATE KEY-----';
    expect(has(`key:\n${pem}\n`, 'SECRET', pem)).toBe(true);
    expect(has('token ghp_abcdefghijklmnopqrstuvwxyz0123456789 used', 'SECRET', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789')).toBe(true);
    expect(has('password: q8Zr2LmX7vPw4KtN9sYb3HcJ', 'SECRET', 'q8Zr2LmX7vPw4KtN9sYb3HcJ')).toBe(true);
    expect(hasType('the identifier abcdefghijklmnopqrstuvwxyz is a word', 'SECRET')).toBe(false);
  });

  it('phone numbers are region-aware', () => {
    expect(has('Ring 020 7946 0958 please', 'PHONE_NUMBER', '020 7946 0958', { regions: ['GB'] })).toBe(true);
    expect(hasType('Ring 020 7946 0958 please', 'PHONE_NUMBER', { regions: ['US'] })).toBe(false);
    expect(has('Ring +44 20 7946 0958 please', 'PHONE_NUMBER', '+44 20 7946 0958', { regions: ['US'] })).toBe(true);
  });

  it('international and North American phone numbers, possible numbers with context, region hints', () => {
    expect(has('Bitte rufen Sie +49 30 1234567 an.', 'PHONE_NUMBER', '+49 30 1234567')).toBe(true);
    expect(has('Tel.: +49 (0)89 2345 6789', 'PHONE_NUMBER', '+49 (0)89 2345 6789')).toBe(true);
    expect(has('Telefon: 0049 40 3456789', 'PHONE_NUMBER', '0049 40 3456789')).toBe(true);
    expect(has('Tokyo office: +81 3-1234-5678', 'PHONE_NUMBER', '+81 3-1234-5678')).toBe(true);
    expect(has('Call +91 98765 43210 now', 'PHONE_NUMBER', '+91 98765 43210')).toBe(true);
    expect(has('Paris : +33 1 42 68 53 00', 'PHONE_NUMBER', '+33 1 42 68 53 00')).toBe(true);
    expect(has('Call 1-800-555-0199 or +1 (202) 555-0171', 'PHONE_NUMBER', '+1 (202) 555-0171')).toBe(true);
    // National German and Japanese numbers: found when the words before name the region.
    expect(has('Our Berlin office: 030 12345678', 'PHONE_NUMBER', '030 12345678')).toBe(true);
    expect(has('Call 03-1234-5679 in Tokyo', 'PHONE_NUMBER', '03-1234-5679', { regions: ['JP'] })).toBe(true);
    // CSV fields: a comma and a digit after the number do not hide it.
    expect(has('1042,John,+1 415 555 0133,203.0.113.9', 'PHONE_NUMBER', '+1 415 555 0133')).toBe(true);
    expect(hasType('Order #4815162342 has shipped.', 'PHONE_NUMBER')).toBe(false);
    expect(hasType('ISBN 978-3-16-148410-0', 'PHONE_NUMBER')).toBe(false);
  });

  it('a version or build number is no IP address (and no phone or date)', () => {
    expect(hasType('Version 10.2.3.4 fixes the login bug.', 'IP_ADDRESS')).toBe(false);
    expect(found('Version 10.2.3.4 fixes the login bug.')).toEqual([]);
    expect(hasType('build 1.0.0.1234 and firmware v2.1.0.17', 'IP_ADDRESS')).toBe(false);
    expect(hasType('npm install lodash@4.17.21', 'DATE_TIME')).toBe(false);
    expect(has('Version 10.2.3.4 was installed on host 10.2.3.5', 'IP_ADDRESS', '10.2.3.5')).toBe(true);
    expect(has('Login from 192.168.1.20 was blocked', 'IP_ADDRESS', '192.168.1.20')).toBe(true);
  });

  it('entity-dense text: entities grow in proportion to the text (linear analysis)', () => {
    const unit = 'From 192.168.1.20 in Tokyo, jane.doe@example.com, +44 20 7946 0958. ';
    const half = unit.repeat(Math.ceil(500_000 / unit.length));
    const whole = half + half;
    const a = analyzeText(half);
    const b = analyzeText(whole);
    expect(a.length).toBe(4 * Math.ceil(500_000 / unit.length));
    expect(b.length).toBe(2 * a.length);
    expect(b[b.length - 1].end).toBeGreaterThan(whole.length - unit.length);
  });

  it('named entities: people, places and organizations', () => {
    const text = 'Yesterday Maria Garcia flew from Madrid to meet Dr. Kowalski at Acme Holdings in Berlin.';
    expect(has(text, 'PERSON', 'Maria Garcia')).toBe(true);
    expect(has(text, 'PERSON', 'Kowalski')).toBe(true);
    expect(has(text, 'LOCATION', 'Madrid')).toBe(true);
    expect(has(text, 'LOCATION', 'Berlin')).toBe(true);
    expect(has(text, 'ORGANIZATION', 'Acme Holdings')).toBe(true);
    expect(found('The report is due on Monday.').filter(([t]) => t === 'PERSON' || t === 'LOCATION')).toEqual([]);
    expect(hasType(text, 'PERSON', { ner: 'off' })).toBe(false);
    expect(has('Yesterday Mr Smith called.', 'PERSON', 'Smith')).toBe(true);
    expect(has('We drove through Kalamazoo quickly.', 'LOCATION', 'Kalamazoo')).toBe(true);
    // Runs the lexicon cannot decide go to compromise's tagger in `full` mode.
    const hard = 'Yesterday Mr Smith and Quentavius Brown ate lunch.';
    expect(has(hard, 'PERSON', 'Quentavius Brown', { ner: 'fast' })).toBe(false);
    expect(has(hard, 'PERSON', 'Quentavius Brown', { ner: 'full' })).toBe(true);
  });
});

describe('checksums', () => {
  it('validate the standard test values', () => {
    expect(luhnValid('4539578763621486')).toBe(true);
    expect(luhnValid('4539578763621487')).toBe(false);
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89370400440532013001')).toBe(false);
    expect(ibanValid('DE8937040044053201300')).toBe(false); // wrong length for DE
    expect(nhsValid('9434765919')).toBe(true);
    expect(nhsValid('9434765918')).toBe(false);
    expect(ssnValid('536221234')).toBe(true);
    expect(ssnValid('900221234')).toBe(false);
    expect(ssnValid('536001234')).toBe(false);
    expect(ssnValid('536220000')).toBe(false);
    expect(base58CheckValid('3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy')).toBe(true);
    expect(bech32Valid('bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297')).toBe(true); // bech32m (taproot)
  });
});

describe('analyzer', () => {
  it('context words raise a score above the threshold', () => {
    expect(hasType('ref 536221234 ok', 'US_SSN')).toBe(false);
    expect(hasType('my ssn is 536221234', 'US_SSN')).toBe(true);
    const plain = analyzeText('ref 536-22-1234 ok')[0];
    const boosted = analyzeText('ssn 536-22-1234 ok')[0];
    expect(boosted.score).toBeGreaterThan(plain.score);
  });

  it('resolves overlaps by score, then by length', () => {
    const out = resolveOverlaps([
      { start: 0, end: 10, score: 0.5, id: 'long-low' },
      { start: 2, end: 6, score: 0.9, id: 'short-high' },
      { start: 20, end: 30, score: 0.6, id: 'a' },
      { start: 20, end: 34, score: 0.6, id: 'longer-tie' },
    ]);
    expect(out.map((o) => o.id)).toEqual(['short-high', 'longer-tie']);
  });

  it('allow and deny lists, entity filter and minimum score', () => {
    expect(hasType('mail info@example.com', 'EMAIL_ADDRESS', { allowList: ['INFO@example.com'] })).toBe(false);
    expect(has('Project Bluebird is secret', 'CODENAME', 'Bluebird', { denyList: ['bluebird'], denyListType: 'CODENAME' })).toBe(true);
    expect(found('mail a@b.co from 10.0.0.1', { entities: ['IP_ADDRESS'] })).toEqual([['IP_ADDRESS', '10.0.0.1']]);
    expect(hasType('Ring (415) 555-0132 today', 'PHONE_NUMBER', { minScore: 0.99 })).toBe(false);
    expect(hasType('Ring (415) 555-0132 today', 'PHONE_NUMBER')).toBe(true);
  });

  it('documents and records: JSON paths, field-name hints, classification, nesting', () => {
    const doc = {
      customer: { full_name: 'Zyx Qwerty', contact: { email: 'z@q.io' }, notes: ['call 415-555-0132'] },
      'odd key': '4111111111111111',
      id_number: 'x',
    };
    const entities = analyzeDocument(doc, { includeText: true, classification: { id_number: 'NATIONAL_ID' } });
    const byPath = Object.fromEntries(entities.map((e) => [e.path, [e.type, e.text]]));
    expect(byPath['$.customer.full_name']).toEqual(['PERSON', 'Zyx Qwerty']);
    expect(byPath['$.customer.contact.email']).toEqual(['EMAIL_ADDRESS', 'z@q.io']);
    expect(byPath['$.customer.notes[0]']).toEqual(['PHONE_NUMBER', '415-555-0132']);
    expect(byPath['$["odd key"]']).toEqual(['CREDIT_CARD', '4111111111111111']);
    expect(byPath['$.id_number']).toEqual(['NATIONAL_ID', 'x']);
  });
});
