import { createRequire } from 'node:module';
import { DomText } from './html.js';
import { normalizeText } from './normalize.js';

const require = createRequire(import.meta.url);
type MarkdownIt = import('markdown-it').MarkdownIt;
let md: Promise<MarkdownIt> | undefined;
// Raw HTML is parsed as HTML (its tags dropped, its text kept); links are not auto-detected.
const markdownIt = (): Promise<MarkdownIt> => {
  md ??= import('markdown-it').then((m) => new m.default({ html: true, linkify: false }));
  return md;
};
let linkedom: typeof import('linkedom') | undefined;

/** YAML (`---`) or TOML (`+++`) front matter at the very start of a document. */
const FRONT_MATTER = /^(?:---[ \t]*\r?\n[\s\S]*?\r?\n(?:---|\.\.\.)|\+\+\+[ \t]*\r?\n[\s\S]*?\r?\n\+\+\+)[ \t]*(?:\r?\n|$)/;

/**
 * Markdown parsed with markdown-it (CommonMark): headings of both kinds, reference links and their
 * definitions, code blocks kept verbatim with their indentation, raw HTML read as HTML, front
 * matter left out. The title is the first heading.
 */
export async function extractMarkdown(source: string): Promise<{ text: string; title?: string }> {
  const body = source.replace(/^\uFEFF/, '').replace(FRONT_MATTER, '');
  const parser = await markdownIt();
  const tokens = parser.parse(body, {});
  let title: string | undefined;
  const open = tokens.findIndex((t: { type: string }) => t.type === 'heading_open');
  if (open >= 0)
    title =
      tokens[open + 1]?.children
        ?.map((c: { type: string; content: string }) => (c.type === 'softbreak' ? ' ' : c.content))
        .join('')
        .trim() || undefined;
  const html = parser.renderer.render(tokens, parser.options, {});
  linkedom ??= require('linkedom') as typeof import('linkedom');
  const { document } = linkedom.parseHTML(`<!doctype html><html><body>${html}</body></html>`);
  return { text: normalizeText(DomText.of(document.body), true), title };
}
