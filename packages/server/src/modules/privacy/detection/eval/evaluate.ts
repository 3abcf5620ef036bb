import { type AnalyzeOptions, analyzeText } from '../analyzer.js';
import { CORPUS } from './corpus.js';

/** One labelled item: the text and its entities (none for a negative). */
export interface LabelledItem {
  text: string;
  gold: { type: string; start: number; end: number }[];
}

/** Parses `[[TYPE|text]]` marks out of each corpus line. */
export function parseCorpus(corpus: string = CORPUS): LabelledItem[] {
  const items: LabelledItem[] = [];
  for (const line of corpus.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    let text = '';
    const gold: LabelledItem['gold'] = [];
    let at = 0;
    const mark = /\[\[([A-Z_]+)\|(.+?)\]\]/g;
    for (let m = mark.exec(line); m; m = mark.exec(line)) {
      text += line.slice(at, m.index);
      gold.push({ type: m[1], start: text.length, end: text.length + m[2].length });
      text += m[2];
      at = m.index + m[0].length;
    }
    items.push({ text: text + line.slice(at), gold });
  }
  return items;
}

export interface TypeScore {
  type: string;
  support: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
  f2: number;
}

export interface Evaluation {
  items: number;
  negatives: number;
  scores: TypeScore[];
  errors: { type: string; kind: 'FP' | 'FN'; value: string; text: string }[];
}

const f2 = (p: number, r: number) => (p + r === 0 ? 0 : (5 * p * r) / (4 * p + r));

/** Types found by named-entity recognition (heuristic): reported, but not held to the pattern-type target. */
export const NER_TYPES = new Set(['PERSON', 'LOCATION', 'ORGANIZATION']);

/**
 * Per-type precision, recall and F2 (recall weighted 2×: a missed entity leaks, a false one only
 * over-redacts). A prediction matches a gold entity of the same type whose span it overlaps; every
 * other prediction is a false positive of its type, so a version string found as an IP address
 * counts against IP_ADDRESS.
 */
export function evaluate(items: LabelledItem[] = parseCorpus(), opts: AnalyzeOptions = {}): Evaluation {
  const counts = new Map<string, { tp: number; fp: number; fn: number }>();
  const count = (type: string) => {
    let c = counts.get(type);
    if (!c) {
      c = { tp: 0, fp: 0, fn: 0 };
      counts.set(type, c);
    }
    return c;
  };
  const errors: Evaluation['errors'] = [];
  for (const { text, gold } of items) {
    const predicted = analyzeText(text, opts);
    const used = new Set<number>();
    for (const g of gold) {
      const i = predicted.findIndex((p, k) => !used.has(k) && p.type === g.type && p.start < g.end && g.start < p.end);
      if (i >= 0) {
        used.add(i);
        count(g.type).tp++;
      } else {
        count(g.type).fn++;
        errors.push({ type: g.type, kind: 'FN', value: text.slice(g.start, g.end), text });
      }
    }
    predicted.forEach((p, k) => {
      if (used.has(k)) return;
      count(p.type).fp++;
      errors.push({ type: p.type, kind: 'FP', value: text.slice(p.start, p.end), text });
    });
  }
  const scores = [...counts].map(([type, c]) => {
    const precision = c.tp + c.fp ? c.tp / (c.tp + c.fp) : 1;
    const recall = c.tp + c.fn ? c.tp / (c.tp + c.fn) : 1;
    return { type, support: c.tp + c.fn, ...c, precision, recall, f2: f2(precision, recall) };
  });
  scores.sort((a, b) => b.support - a.support || a.type.localeCompare(b.type));
  return { items: items.length, negatives: items.filter((i) => i.gold.length === 0).length, scores, errors };
}

/** The evaluation as a Markdown table. */
export function formatEvaluation(e: Evaluation): string {
  const rows = e.scores.map(
    (s) =>
      `| ${s.type} | ${s.support} | ${s.tp} | ${s.fp} | ${s.fn} | ${s.precision.toFixed(3)} | ${s.recall.toFixed(3)} | ${s.f2.toFixed(3)} |`,
  );
  return ['| type | support | TP | FP | FN | precision | recall | F2 |', '|---|---:|---:|---:|---:|---:|---:|---:|', ...rows].join('\n');
}
