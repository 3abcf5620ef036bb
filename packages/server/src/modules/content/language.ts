type Eld = typeof import('eld/extrasmall')['eld'];

// Loaded on first use: the n-gram tables take ~30 MB of heap, which a server that never ingests
// text should not carry.
let eld: Promise<Eld> | undefined;
const TEN_LETTERS = /^(?:\P{L}*\p{L}){10}/u;

/**
 * ISO 639-1 code of the text's language, or undefined when too short (under ten letters, in any
 * script) or unclear. ELD (its extra-small table: 60 languages) on 2,000 characters of prose (proseSample):
 * ~40 µs for a paragraph, so it runs inline; only a result ELD itself calls reliable is reported.
 */
export async function detectLanguage(text: string): Promise<string | undefined> {
  const sample = proseSample(text);
  if (!TEN_LETTERS.test(sample)) return undefined;
  eld ??= import('eld/extrasmall').then((m) => m.eld);
  const result = (await eld).detect(sample);
  return result.language && result.isReliable() ? result.language : undefined;
}

/**
 * Up to 2,000 characters of the text's prose: lines of at least five words, so a document that
 * opens with a list, a table of contents or a grammar is judged by its sentences. The text's
 * opening when it has no such lines.
 */
export function proseSample(text: string): string {
  const prose: string[] = [];
  let length = 0;
  for (const line of text.slice(0, 200_000).split('\n')) {
    if ((line.match(/\p{L}{2,}/gu)?.length ?? 0) < 5) continue;
    prose.push(line.trim());
    length += line.length;
    if (length >= 2000) break;
  }
  return length >= 200 ? prose.join('\n').slice(0, 2000) : text.slice(0, 2000);
}
