import { describe, expect, it } from 'vitest';
import { NER_TYPES, evaluate, formatEvaluation, parseCorpus } from './evaluate.js';

describe('privacy evaluation corpus (international formats)', () => {
  it('has at least 300 labelled items (entities and negative lines)', () => {
    const items = parseCorpus();
    const labelled = items.reduce((n, i) => n + Math.max(1, i.gold.length), 0);
    expect(labelled).toBeGreaterThanOrEqual(300);
    expect(items.filter((i) => i.gold.length === 0).length).toBeGreaterThanOrEqual(50);
  });

  it('every pattern type reaches F2 ≥ 0.9 (per-type precision, recall, F2)', () => {
    const e = evaluate();
    console.log(`${e.items} items (${e.negatives} negatives)\n${formatEvaluation(e)}`);
    const patternTypes = e.scores.filter((s) => s.support > 0 && !NER_TYPES.has(s.type));
    expect(patternTypes.map((s) => s.type)).toEqual(
      expect.arrayContaining(['PHONE_NUMBER', 'EMAIL_ADDRESS', 'IP_ADDRESS', 'CREDIT_CARD', 'IBAN_CODE', 'DATE_TIME']),
    );
    for (const s of patternTypes) expect({ type: s.type, f2: s.f2 >= 0.9 }).toEqual({ type: s.type, f2: true });
    // Pattern types that have no gold entity at all must not be predicted either.
    for (const s of e.scores.filter((x) => x.support === 0 && !NER_TYPES.has(x.type)))
      expect({ type: s.type, fp: s.fp }).toEqual({ type: s.type, fp: 0 });
  });
});
