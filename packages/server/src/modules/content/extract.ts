import { createRequire } from 'node:module';
import type { getDocumentProxy } from 'unpdf';

// The parsers are loaded on first use, not at start: together they cost ~100 MB and ~0.4 s, and
// a server that never extracts a document should not pay for them. The synchronous ones are required (their CommonJS builds are the same
// releases as the ESM ones); PDF and Word extraction are async and import theirs.
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
let unpdf: Promise<typeof import('unpdf')> | undefined;
const loadUnpdf = () => {
  unpdf ??= import('unpdf');
  return unpdf;
};
type Mammoth = typeof import('mammoth');
let mammothModule: Promise<Mammoth> | undefined;
const loadMammoth = (): Promise<Mammoth> => {
  // A CommonJS package: its module.exports is the namespace's default export.
  mammothModule ??= import('mammoth').then((ns) => (ns as unknown as { default: Mammoth }).default);
  return mammothModule;
};

/** The kinds of content Loam extracts text from. */
export type DetectedType = 'pdf' | 'docx' | 'html' | 'markdown' | 'csv' | 'json' | 'text';

/** Extraction failed for a reason the user should read (unsupported type, corrupt file, …); not retried. */
export class ExtractionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExtractionError';
  }
}

export interface Extracted {
  type: DetectedType;
  /** Normalized text. */
  text: string;
  title?: string;
  pageCount?: number;
}

const mediaTypeOf = (ct: string | undefined) => (ct ?? '').split(';')[0].trim().toLowerCase();
const charsetOf = (ct: string | undefined) => /charset\s*=\s*"?([\w.:-]+)"?/i.exec(ct ?? '')?.[1];
const extensionOf = (filename: string | undefined) => /\.([A-Za-z0-9]{1,10})$/.exec(filename ?? '')?.[1]?.toLowerCase() ?? '';

const BY_MEDIA_TYPE: Record<string, DetectedType> = {
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'text/html': 'html',
  'application/xhtml+xml': 'html',
  'text/markdown': 'markdown',
  'text/x-markdown': 'markdown',
  'text/csv': 'csv',
  'application/csv': 'csv',
  'application/json': 'json',
  'text/json': 'json',
  'text/plain': 'text',
};

const BY_EXTENSION: Record<string, DetectedType> = {
  pdf: 'pdf',
  docx: 'docx',
  html: 'html',
  htm: 'html',
  xhtml: 'html',
  md: 'markdown',
  markdown: 'markdown',
  csv: 'csv',
  json: 'json',
  txt: 'text',
  text: 'text',
};

/** Signatures of binary formats Loam cannot read, to name them in the error. */
const BINARY_MAGIC: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF image'],
  [[0x1f, 0x8b], 'a gzip archive'],
  [[0x4d, 0x5a], 'a Windows executable'],
  [[0x7f, 0x45, 0x4c, 0x46], 'an ELF executable'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'a legacy Office (OLE) document'],
  [[0x52, 0x61, 0x72, 0x21], 'a RAR archive'],
];

const startsWith = (bytes: Buffer, sig: number[]) => sig.every((b, i) => bytes[i] === b);

/** Leading text of a buffer with BOM and whitespace removed, lower-cased, for sniffing. */
const head = (bytes: Buffer) =>
  bytes
    .subarray(0, 512)
    .toString('utf8')
    .replace(/^\uFEFF/, '')
    .trimStart()
    .toLowerCase();

/**
 * What the bytes are: magic numbers first (PDF, DOCX/ZIP, known binaries), then the declared
 * media type, then the file extension, then a sniff of the leading text.
 */
export function detectType(bytes: Buffer, contentType?: string, filename?: string): DetectedType {
  const declared = mediaTypeOf(contentType);
  if (bytes.subarray(0, 1024).includes('%PDF-')) return 'pdf';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) {
    if (bytes.includes('word/') || BY_MEDIA_TYPE[declared] === 'docx' || extensionOf(filename) === 'docx') return 'docx';
    throw new ExtractionError('Unsupported file type: a ZIP archive that is not a Word (DOCX) document');
  }
  for (const [sig, what] of BINARY_MAGIC) if (startsWith(bytes, sig)) throw new ExtractionError(`Unsupported file type: ${what}`);
  if (bytes.subarray(0, 8192).includes(0))
    throw new ExtractionError(`Unsupported file type: binary data (${declared || 'no content type'})`);
  const byType = BY_MEDIA_TYPE[declared] ?? (declared.endsWith('+json') ? 'json' : undefined);
  if (byType && byType !== 'text') return byType;
  const byExtension = BY_EXTENSION[extensionOf(filename)];
  if (byExtension && byExtension !== 'text') return byExtension;
  const start = head(bytes);
  if (!byType && (start.startsWith('<!doctype html') || /^<(html|head|body|meta|title)[\s>]/.test(start))) return 'html';
  if (!byType && (start.startsWith('{') || start.startsWith('['))) {
    try {
      JSON.parse(decodeText(bytes));
      return 'json';
    } catch {
      // not JSON after all: plain text
    }
  }
  return 'text';
}

/** Bytes to a string in the declared charset (default UTF-8), without a byte-order mark. */
export function decodeText(bytes: Buffer, contentType?: string): string {
  const charset = charsetOf(contentType) ?? 'utf-8';
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  return decoder.decode(bytes).replace(/^\uFEFF/, '');
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is removed
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g;

/** Unicode NFC, one kind of line break, no control characters, single spaces, at most one blank line. */
export function normalizeText(text: string): string {
  return text
    .normalize('NFC')
    .replace(/\r\n?/g, '\n')
    .replace(/[\u2028\u2029]/g, '\n')
    .replace(CONTROL, '')
    .replace(/[\t\f\v \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const WORD = /[\p{L}\p{N}]+(?:['’.-][\p{L}\p{N}]+)*/gu;

export function countWords(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(WORD)) n++;
  return n;
}

const firstLineTitle = (text: string): string | undefined => {
  const line = text
    .split('\n')
    .find((l) => l.trim())
    ?.trim();
  return line && line.length <= 200 ? line : undefined;
};

const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'SVG', 'IFRAME', 'OBJECT', 'CANVAS']);
const BLOCK = new Set(
  'ADDRESS ARTICLE ASIDE BLOCKQUOTE BR DD DIV DL DT FIELDSET FIGCAPTION FIGURE FOOTER FORM H1 H2 H3 H4 H5 H6 HEADER HR LI MAIN NAV OL P PRE SECTION TABLE TR UL'.split(
    ' ',
  ),
);

interface DomNode {
  nodeType: number;
  nodeName: string;
  textContent: string | null;
  childNodes: ArrayLike<DomNode>;
}

/** Text of a DOM subtree with line breaks around block elements (textContent runs blocks together). */
function domText(node: DomNode, out: string[] = []): string[] {
  if (node.nodeType === 3) out.push(node.textContent ?? '');
  else if (node.nodeType === 1 || node.nodeType === 9 || node.nodeType === 11) {
    const name = node.nodeName.toUpperCase();
    if (SKIP.has(name)) return out;
    const block = BLOCK.has(name);
    if (block) out.push('\n');
    if (name === 'TD' || name === 'TH') out.push(' ');
    // linkedom builds a new list on every `childNodes` access: read it once.
    const children = node.childNodes;
    for (let i = 0; i < children.length; i++) domText(children[i], out);
    if (block) out.push('\n');
  }
  return out;
}

function extractHtml(html: string): { text: string; title?: string } {
  const { document } = parseHTML(html);
  const docTitle = (document.title || '').trim() || undefined;
  let article: { title?: string | null; content?: unknown } | null = null;
  try {
    // Readability changes the document it reads; the page is parsed again for the fallback. The
    // serializer hands back the article element itself, saving a serialize-and-parse round trip.
    const ReadabilityClass = Readability();
    article = new ReadabilityClass<unknown>(document as unknown as Document, { charThreshold: 200, serializer: (el) => el }).parse();
  } catch {
    article = null;
  }
  let text = '';
  if (article?.content) text = normalizeText(domText(article.content as DomNode).join(''));
  if (!text) {
    const fallback = parseHTML(html).document;
    for (const el of Array.from(fallback.querySelectorAll('nav, header, footer, aside, [role=navigation]'))) el.remove();
    text = normalizeText(domText((fallback.body ?? fallback) as unknown as DomNode).join(''));
  }
  const title = article?.title?.trim() || docTitle;
  return { text, title };
}

async function extractPdf(bytes: Buffer): Promise<{ text: string; title?: string; pageCount: number }> {
  const { extractText, getDocumentProxy, getMeta } = await loadUnpdf();
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'PasswordException') throw new ExtractionError('The PDF is password-protected');
    throw new ExtractionError(`The PDF could not be read: ${(err as Error).message}`);
  }
  try {
    const { totalPages, text } = await extractText(pdf, { mergePages: false });
    let title: string | undefined;
    try {
      const meta = await getMeta(pdf);
      const t = (meta.info as { Title?: unknown })?.Title;
      if (typeof t === 'string' && t.trim()) title = t.trim();
    } catch {
      // metadata is optional
    }
    const joined = normalizeText((text as string[]).join('\n\n'));
    return { text: joined, title: title ?? firstLineTitle(joined), pageCount: totalPages };
  } finally {
    await pdf.destroy().catch(() => {});
  }
}

async function extractDocx(bytes: Buffer): Promise<{ text: string; title?: string }> {
  const mammoth = await loadMammoth();
  try {
    const { value } = await mammoth.extractRawText({ buffer: bytes });
    const text = normalizeText(value);
    return { text, title: firstLineTitle(text) };
  } catch (err) {
    throw new ExtractionError(`The Word document could not be read: ${(err as Error).message}`);
  }
}

function extractMarkdown(source: string): { text: string; title?: string } {
  const title = /^[ \t]{0,3}#[ \t]+(.+?)[ \t]*#*[ \t]*$/m.exec(source)?.[1];
  const text = source
    .replace(/^```.*$/gm, '')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]+)\]\([^)]*\)/g, '$1')
    .replace(/^[ \t]{0,3}#{1,6}[ \t]+/gm, '')
    .replace(/^[ \t]{0,3}>[ \t]?/gm, '')
    .replace(/^[ \t]*[-*+][ \t]+/gm, '')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|\W)[*_](\S.*?)[*_](?=\W|$)/g, '$1$2')
    .replace(/`([^`]+)`/g, '$1')
    .replace(/^[ \t]*([-*_][ \t]*){3,}$/gm, '');
  return { text: normalizeText(text), title: title?.trim() };
}

function jsonLines(value: unknown, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) jsonLines(v, path ? `${path}[${i}]` : `[${i}]`, out);
  } else if (typeof value === 'object')
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) jsonLines(v, path ? `${path}.${k}` : k, out);
  else out.push(path ? `${path}: ${String(value)}` : String(value));
}

function extractJson(source: string): { text: string; title?: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (err) {
    throw new ExtractionError(`The JSON document is not valid: ${(err as Error).message}`);
  }
  const lines: string[] = [];
  jsonLines(parsed, '', lines);
  const title = (parsed as { title?: unknown })?.title;
  return { text: normalizeText(lines.join('\n')), title: typeof title === 'string' ? title : undefined };
}

/** Detects the type and extracts normalized text (and title, page count where there are). */
export async function extractContent(bytes: Buffer, contentType?: string, filename?: string): Promise<Extracted> {
  const type = detectType(bytes, contentType, filename);
  switch (type) {
    case 'pdf':
      return { type, ...(await extractPdf(bytes)) };
    case 'docx':
      return { type, ...(await extractDocx(bytes)) };
    case 'html':
      return { type, ...extractHtml(decodeText(bytes, contentType)) };
    case 'markdown':
      return { type, ...extractMarkdown(decodeText(bytes, contentType)) };
    case 'json':
      return { type, ...extractJson(decodeText(bytes, contentType)) };
    case 'csv':
      return { type, text: normalizeText(decodeText(bytes, contentType)) };
    default: {
      const text = normalizeText(decodeText(bytes, contentType));
      return { type, text, title: firstLineTitle(text) };
    }
  }
}
