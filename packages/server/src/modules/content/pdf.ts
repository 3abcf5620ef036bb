import { ExtractionError } from './errors.js';
import { normalizeText } from './normalize.js';

let unpdf: Promise<typeof import('unpdf')> | undefined;
const loadUnpdf = () => {
  unpdf ??= import('unpdf');
  return unpdf;
};

interface TextItem {
  str: string;
  hasEOL?: boolean;
  transform?: number[];
  height?: number;
}

interface Line {
  text: string;
  x: number;
  y: number;
  size: number;
}

/** The lines of one page, in reading order as the PDF gives them. */
function pageLines(items: TextItem[]): Line[] {
  const lines: Line[] = [];
  let cur: Line | undefined;
  for (const item of items) {
    if (typeof item.str !== 'string') continue;
    const y = item.transform?.[5] ?? 0;
    const size = Math.abs(item.transform?.[3] ?? item.height ?? 0) || item.height || 10;
    if (cur && item.str && Math.abs(cur.y - y) > Math.max(cur.size, size) * 0.5) {
      lines.push(cur);
      cur = undefined;
    }
    if (!cur) cur = { text: '', x: item.transform?.[4] ?? 0, y, size };
    cur.text += item.str;
    if (item.str.trim()) cur.size = Math.max(cur.size, size);
    if (item.hasEOL) {
      lines.push(cur);
      cur = undefined;
    }
  }
  if (cur) lines.push(cur);
  return lines.filter((l) => l.text.trim());
}

/**
 * A page's text: a line per line, a blank line where the gap between lines is larger than a line's
 * own spacing (a new paragraph), and words hyphenated at the end of a line joined again.
 */
export function pageText(items: TextItem[]): string {
  const lines = pageLines(items);
  const gaps: number[] = [];
  for (let i = 1; i < lines.length; i++) {
    const g = lines[i - 1].y - lines[i].y;
    if (g > 0) gaps.push(g);
  }
  gaps.sort((a, b) => a - b);
  const usual = gaps.length ? gaps[Math.floor(gaps.length / 2)] : 0;
  const left = lines.reduce((m, l) => Math.min(m, l.x), Number.POSITIVE_INFINITY);
  const indented = (l: Line) => l.x - left > l.size * 0.8;
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].text.replace(/\s+$/, '');
    if (i > 0) {
      const gap = lines[i - 1].y - lines[i].y;
      // A new paragraph: more space above the line than between lines, a jump back up (the next
      // column), or a first-line indent under a line that was not indented.
      const paragraph =
        usual > 0 &&
        (gap > usual * 1.25 || gap < -usual * 2 || (indented(lines[i]) && !indented(lines[i - 1]) && Math.abs(gap - usual) < usual * 0.2));
      // "agree-" + "ment" → "agreement" (a lower-case letter before and after the break).
      if (!paragraph && /\p{Ll}-$/u.test(out) && /^\s*\p{Ll}/u.test(line)) {
        out = out.slice(0, -1) + line.trimStart();
        continue;
      }
      out += paragraph ? '\n\n' : '\n';
    }
    out += line;
  }
  return out;
}

export interface PdfResult {
  text: string;
  title?: string;
  pageCount: number;
  /** No page had any text: the PDF is images only (scanned). */
  imageOnly: boolean;
  truncated: boolean;
}

/** The text of a PDF, page by page (each page's objects released before the next), up to `maxChars`. */
export async function extractPdf(bytes: Buffer, maxChars: number): Promise<PdfResult> {
  const { getDocumentProxy } = await loadUnpdf();
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    pdf = await getDocumentProxy(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { verbosity: 0 });
  } catch (err) {
    const name = (err as Error).name;
    if (name === 'PasswordException') throw new ExtractionError('The PDF is password-protected');
    throw new ExtractionError('The PDF is corrupt or not a PDF (its structure cannot be read)');
  }
  try {
    let title: string | undefined;
    try {
      const meta = await pdf.getMetadata();
      const t = (meta.info as { Title?: unknown })?.Title;
      if (typeof t === 'string' && t.trim() && !/^untitled$/i.test(t.trim())) title = t.trim();
    } catch {
      // metadata is optional
    }
    const pages: string[] = [];
    let chars = 0;
    let truncated = false;
    for (let n = 1; n <= pdf.numPages; n++) {
      const page = await pdf.getPage(n);
      try {
        const content = await page.getTextContent();
        const text = normalizeText(pageText(content.items as TextItem[]));
        pages.push(text);
        chars += text.length + 2;
      } finally {
        page.cleanup();
      }
      if (chars > maxChars) {
        truncated = n < pdf.numPages;
        break;
      }
      // Fonts and other shared objects of past pages go too, every so often.
      if (n % 200 === 0) await pdf.cleanup();
    }
    const text = pages.filter(Boolean).join('\n\n');
    const imageOnly = !text.trim() && pdf.numPages > 0;
    return { text, title, pageCount: pdf.numPages, imageOnly, truncated };
  } finally {
    await pdf.destroy().catch(() => {});
  }
}
