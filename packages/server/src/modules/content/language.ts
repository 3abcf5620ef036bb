type Eld = typeof import('eld/extrasmall')['eld'];

// Loaded on first use: the n-gram tables take ~30 MB of heap, which a server that never ingests
// text should not carry.
let eld: Promise<Eld> | undefined;
const TEN_LETTERS = /^(?:\P{L}*\p{L}){10}/u;

/**
 * ISO 639-1 code of the text's language, or undefined when too short (under ten letters, in any
 * script) or unclear. ELD (its extra-small table: 60 languages) on the first 2,000 characters:
 * ~40 µs for a paragraph, so it runs inline; only a result ELD itself calls reliable is reported.
 */
export async function detectLanguage(text: string): Promise<string | undefined> {
  const sample = text.slice(0, 2000);
  if (!TEN_LETTERS.test(sample)) return undefined;
  eld ??= import('eld/extrasmall').then((m) => m.eld);
  const result = (await eld).detect(sample);
  return result.language && result.isReliable() ? result.language : undefined;
}
