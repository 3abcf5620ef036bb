import { describe, expect, it } from 'vitest';
import { compileTenantRegex, matchWithTimeout } from './custom.js';
import { type OperatorContext, anonymizeText, applyOperator, generalize, surrogate } from './operators.js';

const ctx: OperatorContext = {
  hmac: (d) => Buffer.from(d).toString('hex').padEnd(64, '0').slice(0, 64),
  tokenize: async (v) => `tok_${v.length}`,
  encrypt: async (v) => `enc_${v.length}`,
};

describe('operators', () => {
  it('mask: all, keep last n, from the end, a given count', async () => {
    expect(await applyOperator('4111111111111111', 'CREDIT_CARD', { type: 'mask' }, ctx)).toBe('****************');
    expect(await applyOperator('4111111111111111', 'CREDIT_CARD', { type: 'mask', keep_last: 4, masking_char: 'X' }, ctx)).toBe(
      'XXXXXXXXXXXX1111',
    );
    expect(await applyOperator('jane@example.com', 'EMAIL_ADDRESS', { type: 'mask', chars_to_mask: 4 }, ctx)).toBe('****@example.com');
    expect(await applyOperator('jane@example.com', 'EMAIL_ADDRESS', { type: 'mask', chars_to_mask: 3, from_end: true }, ctx)).toBe(
      'jane@example.***',
    );
    expect(await applyOperator('abc', 'X', { type: 'mask', chars_to_mask: 10, keep_last: 1 }, ctx)).toBe('**c');
  });

  it('generalize: dates to year or month, numbers to ranges, codes to a prefix', () => {
    expect(generalize('1985-03-12', 'DATE_TIME', { type: 'generalize' })).toBe('1985');
    expect(generalize('1985-03-12T10:00:00Z', 'DATE_TIME', { type: 'generalize', granularity: 'month' })).toBe('1985-03');
    expect(generalize('March 12, 1985', 'DATE_TIME', { type: 'generalize', granularity: 'month' })).toBe('1985-03');
    expect(generalize('37', 'AGE', { type: 'generalize' })).toBe('30-39');
    expect(generalize('37', 'AGE', { type: 'generalize', bucket_size: 5 })).toBe('35-39');
    expect(generalize('SW1A 1AA', 'LOCATION', { type: 'generalize' })).toBe('SW1****');
    expect(generalize('Maria', 'PERSON', { type: 'generalize' })).toBe('<PERSON>');
  });

  it('surrogates look like the type and depend only on the digest', () => {
    const a = surrogate('EMAIL_ADDRESS', 'x@y.z', 'a'.repeat(64));
    expect(a).toMatch(/^[^@\s]+@example\.com$/);
    expect(surrogate('EMAIL_ADDRESS', 'x@y.z', 'a'.repeat(64))).toBe(a);
    expect(surrogate('EMAIL_ADDRESS', 'x@y.z', 'b'.repeat(64))).not.toBe(a);
    expect(surrogate('US_SSN', '536-22-1234', 'c'.repeat(64))).toMatch(/^\d{3}-\d{2}-\d{4}$/);
    expect(surrogate('PERSON', 'Ann Lee', 'd'.repeat(64))).toMatch(/^\S+ \S+$/);
    expect(surrogate('IP_ADDRESS', '10.0.0.1', 'e'.repeat(64))).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('anonymizeText splices replacements and reports where they landed', async () => {
    const text = 'a@b.co and 10.0.0.1';
    const out = await anonymizeText(
      text,
      [
        { type: 'EMAIL_ADDRESS', start: 0, end: 6, score: 1, recognizer: 'r' },
        { type: 'IP_ADDRESS', start: 11, end: 19, score: 1, recognizer: 'r' },
      ],
      { IP_ADDRESS: { type: 'replace', new_value: '[ip]' } },
      ctx,
    );
    expect(out.text).toBe('<EMAIL_ADDRESS> and [ip]');
    expect(out.items.map((i) => out.text.slice(i.new_start, i.new_end))).toEqual(['<EMAIL_ADDRESS>', '[ip]']);
  });
});

describe('tenant regexes', () => {
  it('a catastrophic regex is stopped by the deadline instead of hanging the server', () => {
    // Compiled without vetting to prove the runtime guard works on its own.
    const evil = compileTenantRegex('(a+)+$', undefined, 'regex', false);
    expect(matchWithTimeout(evil, `${'a'.repeat(40)}!`, 50)).toBeNull();
    expect(matchWithTimeout(compileTenantRegex('EMP-\\d+', undefined, 'regex'), 'x EMP-12 EMP-3')).toEqual([2, 8, 9, 14]);
  });

  it('vetting refuses nested quantifiers and overlong work on probes', () => {
    expect(() => compileTenantRegex('(a+)+$', undefined, 'regex')).toThrow(/backtrack/);
    expect(() => compileTenantRegex('(a|aa)*b', undefined, 'regex')).toThrow(/backtrack/);
    expect(() => compileTenantRegex('[A-Z]{2}\\d{6}', 'i', 'regex')).not.toThrow();
  });
});
