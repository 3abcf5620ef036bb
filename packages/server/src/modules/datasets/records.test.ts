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

describe('record canonical form and hash', () => {
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

  it('merge-patches (RFC 7386): null removes, objects merge, arrays replace', () => {
    expect(mergePatch({ a: 1, b: { c: 1, d: 2 }, e: [1] }, { a: null, b: { d: null, f: 3 }, e: [2] })).toEqual({
      b: { c: 1, f: 3 },
      e: [2],
    });
  });
});
