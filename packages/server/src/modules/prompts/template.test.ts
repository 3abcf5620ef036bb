import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileTemplate, placeholdersOf, renderCompiled, resolveVariables, undeclaredPlaceholders } from './template.js';

describe('prompt templates', () => {
  it('finds {{name}} placeholders (spaces allowed), ignoring anything that is not a plain name', () => {
    expect(placeholdersOf('{{a}} {{ b }} {{a}} {{#if c}} {{d.e}} {{> f}} {{1g}} {h} {{_i9}}')).toEqual(['a', 'b', '_i9']);
    expect(undeclaredPlaceholders('{{a}} {{b}}', [{ name: 'a' }])).toEqual(['b']);
  });

  it('required, defaultValue, optional and unknown variables', () => {
    const declared = [{ name: 'r', required: true }, { name: 'd', defaultValue: 'dflt', required: true }, { name: 'o' }];
    expect(resolveVariables(declared, { o: 1, x: 'y' })).toEqual({ values: { d: 'dflt', o: '1' }, missing: ['r'], unknown: ['x'] });
    expect(resolveVariables(declared, { r: false, d: '' }).values).toEqual({ r: 'false', d: '', o: '' });
    // Prototype keys are not variables.
    expect(resolveVariables([{ name: 'constructor', required: true }], {}).missing).toEqual(['constructor']);
  });

  it('rendering equals one-pass substitution, and a value is never expanded again', () => {
    const name = fc.constantFrom('a', 'b', 'c');
    const literal = fc.string().map((s) => s.replaceAll('{{', '{'));
    fc.assert(
      fc.property(fc.array(fc.tuple(literal, name)), literal, fc.dictionary(name, fc.string()), (pieces, tail, values) => {
        const template = pieces.map(([text, n]) => `${text}{{${n}}}`).join('') + tail;
        const expected = pieces.map(([text, n]) => text + (values[n] ?? '')).join('') + tail;
        expect(renderCompiled(compileTemplate(template), values)).toBe(expected);
      }),
    );
  });
});
