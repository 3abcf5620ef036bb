import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, mergePatch, recordDigest, validateRecord } from './records.js';

/** Shuffles object keys at every level (same content, another key order). */
function reorder(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((v) => reorder(v, seed));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value as Record<string, unknown>);
  entries.sort(
    (a, b) => ((a[0].length * 31 + seed) % 7) - ((b[0].length * 31 + seed) % 7) || (seed % 2 ? 1 : -1) * a[0].localeCompare(b[0]),
  );
  return Object.fromEntries(entries.map(([k, v]) => [k, reorder(v, seed)]));
}

/** The canonical form written the plain way: keys sorted at every level, undefined skipped. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${Array.from(value, (v) => reference(v ?? null)).join(',')}]`;
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(obj[k])}`).join(',')}}`;
}

/** An object with these own properties in this order (`__proto__` included as a plain key). */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}

// Keys whose order an object does not keep as inserted (integer-like, `__proto__`) among others.
const awkwardKey = fc.constantFrom('0', '1', '9', '10', '4294967295', '01', '-1', 'a', 'b', 'B', 'é', '__proto__', 'toJSON', '');
const awkwardValue = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(fc.tuple(awkwardKey, tie('value')), { maxLength: 5 }).map(objectOf),
  ),
})).value;

describe('record canonical form and hash', () => {
  it('canonical JSON is exactly the keys-sorted form, also for integer-like and __proto__ keys', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), awkwardValue), (value) => {
        expect(canonicalJson(value)).toBe(reference(value));
      }),
      { numRuns: 1000 },
    );
    expect(canonicalJson({ b: 1, 10: 'x', 9: 'y', a: [{ d: undefined, c: Number.NaN }] })).toBe(
      '{"10":"x","9":"y","a":[{"c":null}],"b":1}',
    );
  });

  it('canonical JSON parses back to the same value, whatever the key order, and equals for equal content', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer({ min: 0, max: 100 }), (value, seed) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(reorder(value, seed))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('writes keys that look like code as data (objects are written by generated code per shape)', () => {
    const hostile = {
      "'); globalThis.pwned = true; ('": 1,
      '"]; globalThis.pwned = true; o["': 2,
      '\\`${globalThis.pwned = true}`': 3,
      '\u2028\u2029': 4,
      __proto__x: 5,
      constructor: 6,
    };
    const text = canonicalJson(hostile);
    expect(JSON.parse(text)).toEqual(hostile);
    expect((globalThis as { pwned?: boolean }).pwned).toBeUndefined();
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it('hashes id and content: equal content equal hash, any change another hash', () => {
    const a = recordDigest('r1', { b: 1, a: { y: [1, 2], x: 'é' } });
    expect(recordDigest('r1', { a: { x: 'é', y: [1, 2] }, b: 1 }).hash).toBe(a.hash);
    expect(recordDigest('r2', { b: 1, a: { y: [1, 2], x: 'é' } }).hash).not.toBe(a.hash);
    expect(recordDigest('r1', { b: 1, a: { y: [2, 1], x: 'é' } }).hash).not.toBe(a.hash);
    expect(a.bytes).toBe(Buffer.byteLength('{"a":{"x":"é","y":[1,2]},"b":1}'));
  });

  it('validates types, datetimes and required fields', () => {
    const fields = [
      { name: 'n', type: 'integer' as const, required: true },
      { name: 'd', type: 'datetime' as const, required: false },
      { name: 'o', type: 'object' as const, required: false },
    ];
    expect(validateRecord(fields, { n: 1, d: '2026-11-23T10:00:00Z', o: {} })).toEqual([]);
    expect(validateRecord(fields, { n: 1.5 }).map((p) => p.code)).toEqual(['invalid_type']);
    expect(validateRecord(fields, { d: '2026-13-99' }).map((p) => [p.field, p.code])).toEqual([
      ['n', 'required_field_missing'],
      ['d', 'invalid_format'],
    ]);
    expect(validateRecord(fields, { n: 1, o: [] }).map((p) => p.field)).toEqual(['o']);
  });

  it('writes objects of shapes beyond the compiled-shape cache the same way', () => {
    for (let i = 0; i < 5000; i++) canonicalJson({ [`k${i}`]: i, [`j${i}`]: [i] });
    const late = { z: { y: 1, x: [2, { w: 3, v: 4 }] }, 2: true, 10: null, a: 'a' };
    expect(canonicalJson(late)).toBe(reference(late));
    expect(canonicalJson({ q: 1, p: { o: 2, n: 3 } })).toBe('{"p":{"n":3,"o":2},"q":1}');
  });

  it('merge-patches (RFC 7386): null removes, objects merge, arrays replace', () => {
    expect(mergePatch({ a: 1, b: { c: 1, d: 2 }, e: [1] }, { a: null, b: { d: null, f: 3 }, e: [2] })).toEqual({
      b: { c: 1, f: 3 },
      e: [2],
    });
  });
});
