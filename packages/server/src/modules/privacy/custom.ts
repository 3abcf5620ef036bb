import vm from 'node:vm';
import type { CreateRecognizer } from '@loam/api';
import safeRegex from 'safe-regex2';
import { AppError } from '../../platform/errors.js';
import type { Candidate } from './detection/recognizers.js';

/**
 * Tenant-defined regex recognizers. A regex from a tenant could backtrack catastrophically and
 * stall the server, so each one is (1) refused when safe-regex2 finds nested quantifiers, (2) tried
 * against adversarial inputs under a timeout at creation, and (3) run under a timeout in a separate
 * V8 context at analysis time (V8 interrupts a running regex when the timeout fires).
 */

export const REGEX_TIMEOUT_MS = 100;
const PROBES = [
  'a'.repeat(5000),
  `${'a'.repeat(3000)}!`,
  `${'1'.repeat(3000)}x`,
  `${' '.repeat(3000)}x`,
  `${'ab'.repeat(2000)}`,
  `${'a1-'.repeat(1500)}@`,
];

const context = vm.createContext(Object.create(null));
const collectScript = new vm.Script(`
  (() => {
    const out = [];
    re.lastIndex = 0;
    for (let m = re.exec(text); m && out.length < 10000; m = re.exec(text)) {
      if (m[0].length === 0) { re.lastIndex++; continue; }
      out.push(m.index, m.index + m[0].length);
    }
    return out;
  })()
`);

/** Runs `re` (global) over `text` with a deadline; null when it ran out of time. */
export function matchWithTimeout(re: RegExp, text: string, timeoutMs = REGEX_TIMEOUT_MS): number[] | null {
  context.re = re;
  context.text = text;
  try {
    return collectScript.runInContext(context, { timeout: timeoutMs }) as number[];
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return null;
    throw err;
  } finally {
    context.re = undefined;
    context.text = undefined;
  }
}

/** Compiles and vets a tenant pattern; throws 400 with the field at fault. */
export function compileTenantRegex(regex: string, flags: string | undefined, field: string, vet = true): RegExp {
  let re: RegExp;
  try {
    re = new RegExp(regex, `g${flags ?? ''}`);
  } catch (err) {
    throw new AppError('validation_error', 400, `Invalid regular expression: ${(err as Error).message}`, [
      { field, code: 'invalid_regex', message: (err as Error).message },
    ]);
  }
  const unsafe = () =>
    new AppError('validation_error', 400, 'The regular expression may backtrack catastrophically (nested or overlapping quantifiers)', [
      { field, code: 'unsafe_regex', message: 'Rewrite without nested quantifiers such as (a+)+' },
    ]);
  if (!vet) return re;
  if (!safeRegex(re)) throw unsafe();
  // Generous deadline: a catastrophic pattern needs far longer than this on these probes even on an
  // idle machine, while a safe one finishes in microseconds even on a loaded one.
  for (const probe of PROBES) if (matchWithTimeout(re, probe, 250) === null) throw unsafe();
  return re;
}

export interface CompiledRecognizer {
  id: string;
  name: string;
  type: string;
  context: string[];
  patterns: { re: RegExp; score: number }[];
}

/** Compiles a recognizer; `vet` runs the safety checks (at creation and update, not on every load). */
export function compileRecognizer(id: string, input: CreateRecognizer, vet = true): CompiledRecognizer {
  return {
    id,
    name: `tenant:${input.name}`,
    type: input.entity_type,
    context: input.context ?? [],
    patterns: input.patterns.map((p, i) => ({ re: compileTenantRegex(p.regex, p.flags, `patterns[${i}].regex`, vet), score: p.score })),
  };
}

/** Candidates of tenant recognizers; a pattern that times out is skipped (and reported). */
export function findCustom(text: string, recognizers: CompiledRecognizer[], onTimeout: (r: CompiledRecognizer) => void): Candidate[] {
  const out: Candidate[] = [];
  for (const r of recognizers) {
    for (const p of r.patterns) {
      const spans = matchWithTimeout(p.re, text);
      if (!spans) {
        onTimeout(r);
        continue;
      }
      for (let i = 0; i < spans.length; i += 2)
        out.push({ type: r.type, start: spans[i], end: spans[i + 1], score: p.score, recognizer: r.name });
    }
  }
  return out;
}
