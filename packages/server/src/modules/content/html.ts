import { createRequire } from 'node:module';
import { normalizeText } from './normalize.js';

// The parsers are loaded on first use (in the extraction worker thread), not at start.
const require = createRequire(import.meta.url);
let linkedom: typeof import('linkedom') | undefined;
const parseHTML: typeof import('linkedom').parseHTML = (...args) => {
  linkedom ??= require('linkedom') as typeof import('linkedom');
  return linkedom.parseHTML(...args);
};
let readability: typeof import('@mozilla/readability') | undefined;
const Readability = (): typeof import('@mozilla/readability').Readability => {
  readability ??= require('@mozilla/readability') as typeof import('@mozilla/readability');
  return readability.Readability;
};

const SKIP = new Set('SCRIPT STYLE NOSCRIPT TEMPLATE SVG IFRAME OBJECT CANVAS BUTTON INPUT SELECT TEXTAREA HEAD'.split(' '));
const BLOCK = new Set(
  'ADDRESS ARTICLE ASIDE BLOCKQUOTE CAPTION DD DIV DL DT FIELDSET FIGCAPTION FIGURE FOOTER FORM H1 H2 H3 H4 H5 H6 HEADER HR LI MAIN NAV OL P PRE SECTION SUMMARY DETAILS TABLE TR UL TBODY THEAD TFOOT'.split(
    ' ',
  ),
);

/** Chrome that is hidden or is page furniture, never content. */
const HIDDEN = [
  '[hidden]',
  '[aria-hidden="true"]',
  '[style*="display:none"]',
  '[style*="display: none"]',
  '[style*="visibility:hidden"]',
  '[style*="visibility: hidden"]',
  'dialog:not([open])',
  // rustdoc: "· Source" links, anchors, "Expand description", the toolbar and path copier
  '.rightside',
  'a.src',
  'a.anchor',
  'summary.hideme',
  'rustdoc-toolbar',
  '#copy-path',
  '.sub-heading',
  'rustdoc-search',
  '.out-of-band',
  'a.srclink',
  'a.test-arrow',
  '#toggle-all-docs',
  // mdBook: keyboard-help popup, sidebar, menu bar, previous/next arrows, search bar
  '#mdbook-help-container',
  '#sidebar',
  '#menu-bar',
  '.nav-wrapper',
  '.nav-chapters',
  '#searchbar-outer',
  '#search-wrapper',
];

/** The main content area of a documentation-style page, when it names one. */
const CONTENT_AREAS = ['#main-content', 'main', '[role="main"]', '#content', 'article'];

interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
  parentNode?: DomNode | null;
  getAttribute?: (name: string) => string | null;
}

/**
 * Text of a DOM subtree as a reader sees it: whitespace of the source collapsed (its line breaks
 * do not end up inside paragraphs), a line per block, `<pre>` kept verbatim with its indentation,
 * a table row per line with its cells separated by ` | `, list items numbered or bulleted.
 */
export class DomText {
  private readonly out: string[] = [];
  private last = '\n';

  static of(node: unknown): string {
    const t = new DomText();
    t.walk(node as DomNode, 0, 0);
    return t.out.join('');
  }

  private push(s: string): void {
    if (!s) return;
    this.out.push(s);
    this.last = s[s.length - 1];
  }

  private newline(): void {
    if (this.last !== '\n') this.push('\n');
  }

  private inline(text: string): void {
    let s = text.replace(/[ \t\n\r\f]+/g, ' ');
    if (this.last === '\n' || this.last === ' ') s = s.replace(/^ /, '');
    this.push(s);
  }

  private walk(node: DomNode, pre: number, cell = 0): void {
    if (node.nodeType === 3) {
      if (pre) this.push(node.textContent ?? '');
      else this.inline(node.textContent ?? '');
      return;
    }
    if (node.nodeType !== 1 && node.nodeType !== 9 && node.nodeType !== 11) return;
    const name = node.nodeName.toUpperCase();
    if (SKIP.has(name)) return;
    if (name === 'BR') {
      this.push(cell && !pre ? ' ' : '\n');
      return;
    }
    const isCell = name === 'TD' || name === 'TH';
    // Inside a table cell, blocks (a Word cell's paragraphs) stay on the row's line.
    const block = !cell && (BLOCK.has(name) || name === 'PRE');
    const spaced = block && (name === 'PRE' || name === 'TABLE' || name === 'P' || /^H[1-6]$/.test(name));
    if (block) this.newline();
    if (spaced) this.blankLine();
    if (cell && BLOCK.has(name) && this.last !== ' ' && this.last !== '\n') this.push(' ');
    if (name === 'LI') this.push(this.bullet(node));
    if (isCell && this.last !== '\n') this.push(' | ');
    // linkedom builds a new list on every `childNodes` access: read it once.
    const children = node.childNodes;
    const inPre = pre + (name === 'PRE' ? 1 : 0);
    const inCell = cell + (isCell ? 1 : 0);
    for (let i = 0; i < children.length; i++) this.walk(children[i], inPre, inCell);
    if (block) this.newline();
    if (spaced) this.blankLine();
  }

  private blankLine(): void {
    this.newline();
    if (this.out.length && !this.out[this.out.length - 1].endsWith('\n\n')) this.push('\n');
  }

  private bullet(li: DomNode): string {
    const parent = li.parentNode;
    if (parent?.nodeName.toUpperCase() !== 'OL') return '- ';
    const start = Number.parseInt(parent.getAttribute?.('start') ?? '1', 10) || 1;
    let n = 0;
    const siblings = parent.childNodes;
    for (let i = 0; i < siblings.length; i++) {
      if (siblings[i].nodeName.toUpperCase() === 'LI') n++;
      if (siblings[i] === li) break;
    }
    return `${start + n - 1}. `;
  }
}

interface Doc {
  title: string;
  body: unknown;
  querySelector(sel: string): ({ textContent: string | null; remove(): void } & object) | null;
  querySelectorAll(sel: string): ArrayLike<{ remove(): void; textContent: string | null }>;
}

const parse = (html: string): Doc => {
  // A fragment (a chapter body without <html>/<body>) is parsed as the body of a page; a page
  // without <body> (groff's) gets one after its </head>.
  let page = html;
  if (!/<body[\s>]/i.test(html)) {
    const endOfHead = html.search(/<\/head\s*>/i);
    page =
      endOfHead >= 0
        ? `${html.slice(0, endOfHead)}</head><body>${html.slice(endOfHead).replace(/^<\/head\s*>/i, '')}`
        : `<!doctype html><html><head></head><body>${html}</body></html>`;
  }
  return parseHTML(page).document as unknown as Doc;
};

const cleanTitle = (t: string | null | undefined) => {
  const s = (t ?? '').replace(/\s+/g, ' ').trim();
  return s && !/^<!doctype/i.test(s) && s.length <= 500 ? s : undefined;
};

/** Title and text of an HTML page: its content area (or what Readability finds), without chrome. */
export function extractHtml(html: string): { text: string; title?: string } {
  if (!html.trim()) return { text: '' };
  const document = parse(html);
  for (const sel of HIDDEN) for (const el of Array.from(document.querySelectorAll(sel))) el.remove();
  const heading = cleanTitle(document.querySelector('h1')?.textContent ?? document.querySelector('h2')?.textContent);
  const named = cleanTitle(document.title);
  // A <title> that is only the file's name (groff's "pic-3.html") says less than the first heading.
  const title = named && !/^[\w.-]+\.x?html?$/i.test(named) ? named : (heading ?? named);
  for (const sel of CONTENT_AREAS) {
    const area = document.querySelector(sel);
    if (area && (area.textContent ?? '').trim().length >= 200) return { text: normalizeText(DomText.of(area), true), title };
  }
  let text = '';
  try {
    // Readability changes the document it reads; the page is parsed again for the fallback. The
    // serializer hands back the article element itself, saving a serialize-and-parse round trip.
    const ReadabilityClass = Readability();
    const article = new ReadabilityClass<unknown>(document as unknown as Document, { charThreshold: 200, serializer: (el) => el }).parse();
    if (article?.content) text = normalizeText(DomText.of(article.content), true);
  } catch {
    text = '';
  }
  const fallback = parse(html);
  for (const sel of [...HIDDEN, 'nav', 'header', 'footer', 'aside', '[role=navigation]'])
    for (const el of Array.from(fallback.querySelectorAll(sel))) el.remove();
  const whole = normalizeText(DomText.of(fallback.body ?? fallback), true);
  // Readability keeps the article; when it keeps too little of the page (reference pages, lists,
  // grammar blocks), the whole page without its navigation is the better text.
  if (!text || text.length < whole.length * 0.6) text = whole;
  return { text, title };
}
