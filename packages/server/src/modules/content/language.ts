import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

type Eld = typeof import('eld/extrasmall')['eld'];

// Loaded on first use, which a server that never ingests text does not pay for.
let eld: Promise<Eld> | undefined;
const TEN_LETTERS = /^(?:\P{L}*\p{L}){10}/u;

/** Where the `eld` package is installed (its exports hide the detector and the tables). */
export function eldDir(): string {
  const from = createRequire(import.meta.url).resolve.paths('eld') ?? [];
  const dir = from.map((p) => join(p, 'eld')).find((d) => existsSync(join(d, 'src/languageDetector.js')));
  if (!dir) throw new Error('The eld package is not installed');
  return dir;
}

/**
 * ELD with its extra-small table read from JSON (`dist/eld-extrasmall.json`, written by `npm run
 * build`: scripts/eld-data.mjs): ~25 MB of resident memory where importing the table's JavaScript
 * module leaves ~85 MB. Without a build (tests, `npm run dev`), the module.
 */
async function loadEld(): Promise<Eld> {
  const json = builtTable();
  if (!json) return (await import('eld/extrasmall')).eld;
  const { createEld } = await import(pathToFileURL(join(eldDir(), 'src/languageDetector.js')).href);
  const { instance, loadData } = createEld();
  if (!loadData(JSON.parse(readFileSync(json, 'utf8')))) throw new Error(`${json}: not an eld n-gram table`);
  return instance;
}

/** The JSON n-gram table `npm run build` wrote, if it did. */
export function builtTable(): string | undefined {
  try {
    const json = join(dirname(createRequire(import.meta.url).resolve('@loam/server')), 'eld-extrasmall.json');
    return existsSync(json) ? json : undefined;
  } catch {
    return undefined; // @loam/server not resolvable from here: no build to read
  }
}

/**
 * ISO 639-1 code of the text's language, or undefined when too short (under ten letters, in any
 * script) or unclear. ELD (its extra-small table: 60 languages) on 2,000 characters of prose (proseSample):
 * ~40 µs for a paragraph, so it runs inline; only a result ELD itself calls reliable is reported.
 */
export async function detectLanguage(text: string): Promise<string | undefined> {
  const sample = proseSample(text);
  if (!TEN_LETTERS.test(sample)) return undefined;
  eld ??= loadEld();
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
