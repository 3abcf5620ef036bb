import { type DetectedType, decodeText, detectType, nameOf } from './detect.js';
import { extractDocx } from './docx.js';
import { ExtractionError } from './errors.js';
import { extractHtml } from './html.js';
import { extractMarkdown } from './markdown.js';
import { countWords, firstLineTitle, normalizeText } from './normalize.js';
import { ocrImage, ocrPdf } from './ocr.js';
import { extractPdf } from './pdf.js';

export { type DetectedType, decodeText, detectType, ExtractionError, countWords, normalizeText };

export interface Extracted {
  type: DetectedType;
  /** Normalized text. */
  text: string;
  title?: string;
  pageCount?: number;
  /** Why the text is empty or incomplete (scanned PDF, empty file, cut at the limit). */
  warning?: string;
}

export interface ExtractOptions {
  /** OCR images and image-only PDFs with tesseract. */
  ocr?: 'off' | 'tesseract';
  /** Longest text kept (characters); more is cut, with a warning. */
  maxChars?: number;
  /** Time OCR commands may take, milliseconds. */
  timeoutMs?: number;
}

const DEFAULT_MAX_CHARS = 20_000_000;
const OCR_HINT = 'OCR is off (set LOAM_OCR=tesseract to read scanned documents)';

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

async function extractByType(
  bytes: Buffer,
  type: DetectedType,
  mime: string | undefined,
  contentType: string | undefined,
  opts: Required<ExtractOptions>,
) {
  switch (type) {
    case 'pdf': {
      // pdf.js takes the bytes over (detaches them): OCR, which needs them again, gets its own copy.
      const pdf = await extractPdf(opts.ocr === 'tesseract' ? Buffer.from(bytes) : bytes, opts.maxChars);
      const out: Omit<Extracted, 'type'> = { text: pdf.text, title: pdf.title ?? firstLineTitle(pdf.text), pageCount: pdf.pageCount };
      if (pdf.truncated) out.warning = `The text was cut at ${opts.maxChars} characters (LOAM_CONTENT_MAX_EXTRACTED_CHARS)`;
      if (pdf.imageOnly) {
        if (opts.ocr === 'tesseract') {
          out.text = normalizeText(await ocrPdf(bytes, 200, opts.timeoutMs));
          out.title = pdf.title ?? firstLineTitle(out.text);
          if (!out.text) out.warning = 'The PDF has no text layer and OCR found no text in its pages';
        } else out.warning = `The PDF has no text layer (its pages are images, as in a scan); ${OCR_HINT}`;
      }
      return out;
    }
    case 'image': {
      if (opts.ocr !== 'tesseract') throw new ExtractionError(`Unsupported file type: ${nameOf(mime)} (${OCR_HINT})`);
      const text = normalizeText(await ocrImage(bytes, opts.timeoutMs));
      return { text, title: firstLineTitle(text), warning: text ? undefined : 'OCR found no text in the image' };
    }
    case 'docx':
      return extractDocx(bytes);
    case 'html':
      return extractHtml(decodeText(bytes, contentType, true));
    case 'markdown':
      return extractMarkdown(decodeText(bytes, contentType));
    case 'json':
      return extractJson(decodeText(bytes, contentType));
    case 'csv':
      return { text: normalizeText(decodeText(bytes, contentType)) };
    default: {
      const text = normalizeText(decodeText(bytes, contentType), true);
      return { text, title: firstLineTitle(text) };
    }
  }
}

/** Detects the type and extracts normalized text (and title, page count, a warning where there are). */
export async function extractContent(
  bytes: Buffer,
  contentType?: string,
  filename?: string,
  options: ExtractOptions = {},
): Promise<Extracted> {
  const opts: Required<ExtractOptions> = { ocr: 'off', maxChars: DEFAULT_MAX_CHARS, timeoutMs: 120_000, ...options };
  if (bytes.length === 0) return { type: 'text', text: '', warning: 'The file is empty' };
  const { type, mime } = await detectType(bytes, contentType, filename);
  const out: Extracted = { type, ...(await extractByType(bytes, type, mime, contentType, opts)) };
  if (out.text.length > opts.maxChars) {
    out.text = out.text.slice(0, opts.maxChars);
    out.warning = `The text was cut at ${opts.maxChars} characters (LOAM_CONTENT_MAX_EXTRACTED_CHARS)`;
  }
  if (!out.text && !out.warning)
    out.warning =
      type === 'html' ? 'The page has no text (it is empty or all markup)' : 'The document has no text (it is empty or whitespace only)';
  if (out.title === undefined) delete out.title;
  return out;
}
