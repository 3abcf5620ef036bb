import { DomText } from './html.js';
import { ExtractionError } from './errors.js';
import { firstLineTitle, normalizeText } from './normalize.js';

type Mammoth = typeof import('mammoth');
let mammothModule: Promise<Mammoth> | undefined;
const loadMammoth = (): Promise<Mammoth> => {
  // A CommonJS package: its module.exports is the namespace's default export.
  mammothModule ??= import('mammoth').then((ns) => (ns as unknown as { default: Mammoth }).default);
  return mammothModule;
};

/**
 * A Word document through mammoth's HTML (not its raw text): headings, numbered and bulleted lists,
 * tables a row per line, line breaks inside paragraphs (code blocks) kept.
 */
export async function extractDocx(bytes: Buffer): Promise<{ text: string; title?: string }> {
  const mammoth = await loadMammoth();
  let html: string;
  try {
    ({ value: html } = await mammoth.convertToHtml(
      { buffer: bytes },
      { ignoreEmptyParagraphs: true, convertImage: mammoth.images.imgElement(async () => ({ src: '' })) },
    ));
  } catch (err) {
    const reason = (err as Error).message ?? '';
    if (/zip|central directory|end of data|corrupt/i.test(reason))
      throw new ExtractionError('The Word document is corrupt (its ZIP container cannot be read)');
    if (/word\/document\.xml|main document/i.test(reason))
      throw new ExtractionError('The Word document is corrupt (it has no main document part)');
    throw new ExtractionError('The Word document could not be read (its content is not valid Office Open XML)');
  }
  const { parseHTML } = await import('linkedom');
  const { document } = parseHTML(`<!doctype html><html><body>${html}</body></html>`);
  const title = document.querySelector('h1')?.textContent?.trim() || undefined;
  const text = normalizeText(DomText.of(document.body), true);
  return { text, title: title && title.length <= 200 ? title : firstLineTitle(text) };
}
