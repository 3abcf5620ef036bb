import { createRequire } from 'node:module';
import { ExtractionError } from './errors.js';

// chardet and iconv-lite are CommonJS; loaded on first use (extraction runs in a worker thread).
const require = createRequire(import.meta.url);
let iconv: typeof import('iconv-lite') | undefined;
const iconvLite = () => {
  iconv ??= require('iconv-lite') as typeof import('iconv-lite');
  return iconv;
};
let chardetModule: typeof import('chardet') | undefined;
const chardet = () => {
  chardetModule ??= require('chardet') as typeof import('chardet');
  return chardetModule;
};

/** The kinds of content Loam extracts text from. */
export type DetectedType = 'pdf' | 'docx' | 'html' | 'markdown' | 'csv' | 'json' | 'text' | 'image';

const mediaTypeOf = (ct: string | undefined) => (ct ?? '').split(';')[0].trim().toLowerCase();
const charsetOf = (ct: string | undefined) => /charset\s*=\s*["']?([\w.:-]+)/i.exec(ct ?? '')?.[1];
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

/** Images Loam can OCR (with LOAM_OCR=tesseract). */
export const OCR_IMAGES = new Set(['image/png', 'image/jpeg', 'image/tiff', 'image/bmp', 'image/gif', 'image/webp']);

/** Names of binary formats Loam cannot read, for the error. */
const NAMES: Record<string, string> = {
  'image/png': 'a PNG image',
  'image/jpeg': 'a JPEG image',
  'image/gif': 'a GIF image',
  'image/tiff': 'a TIFF image',
  'image/webp': 'a WebP image',
  'image/bmp': 'a BMP image',
  'application/gzip': 'a gzip archive',
  'application/zip': 'a ZIP archive that is not a Word (DOCX) document',
  'application/x-msdownload': 'a Windows executable',
  'application/x-elf': 'an ELF executable',
  'application/x-cfb': 'a legacy Office (OLE) document',
  'application/msword': 'a legacy Word (.doc) document',
  'application/vnd.rar': 'a RAR archive',
  'application/x-rar-compressed': 'a RAR archive',
  'application/x-7z-compressed': 'a 7-Zip archive',
  'application/x-tar': 'a tar archive',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'an Excel (XLSX) workbook',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'a PowerPoint (PPTX) presentation',
  'application/epub+zip': 'an EPUB book',
};

/** Short signatures file-type needs more bytes for, to name them in the error all the same. */
const SHORT_MAGIC: [number[], string][] = [
  [[0x89, 0x50, 0x4e, 0x47], 'image/png'],
  [[0xff, 0xd8, 0xff], 'image/jpeg'],
  [[0x47, 0x49, 0x46, 0x38], 'image/gif'],
  [[0x1f, 0x8b], 'application/gzip'],
  [[0x4d, 0x5a], 'application/x-msdownload'],
  [[0x7f, 0x45, 0x4c, 0x46], 'application/x-elf'],
  [[0xd0, 0xcf, 0x11, 0xe0], 'application/x-cfb'],
  [[0x52, 0x61, 0x72, 0x21], 'application/vnd.rar'],
  [[0x50, 0x4b, 0x03, 0x04], 'application/zip'],
];

/** The name of a binary format, for messages. */
export const nameOf = (mime: string | undefined): string => (mime && NAMES[mime]) ?? `a file of type ${mime ?? 'unknown'}`;

/** Leading text of a buffer with BOM and whitespace removed, lower-cased, for sniffing. */
const head = (bytes: Buffer) =>
  bytes
    .subarray(0, 1024)
    .toString('latin1')
    .replace(/^(\xef\xbb\xbf|\xff\xfe|\xfe\xff)/, '')
    .replace(/\0/g, '')
    .trimStart()
    .toLowerCase();

const looksLikeHtml = (start: string) =>
  start.startsWith('<!doctype html') || /^(<!--[\s\S]*?-->\s*)*<(html|head|body|meta|title)[\s>]/.test(start);

export interface Detected {
  type: DetectedType;
  /** The media type found in the bytes, when they are binary. */
  mime?: string;
}

/**
 * What the bytes are: the content first (magic bytes with `file-type`, then a sniff for HTML), then
 * the declared media type, the file extension, and a sniff for JSON.
 */
export async function detectType(bytes: Buffer, contentType?: string, filename?: string): Promise<Detected> {
  const declared = mediaTypeOf(contentType);
  if (bytes.subarray(0, 1024).includes('%PDF-')) return { type: 'pdf' };
  const { fileTypeFromBuffer } = await import('file-type');
  const found =
    (await fileTypeFromBuffer(bytes.subarray(0, 64 * 1024)).catch(() => undefined)) ??
    SHORT_MAGIC.filter(([sig]) => sig.every((b, i) => bytes[i] === b)).map(([, mime]) => ({ mime, ext: mime.split('/')[1] }))[0];
  if (found) {
    if (found.mime === 'application/pdf') return { type: 'pdf' };
    if (found.mime === 'application/vnd.openxmlformats-officedocument.wordprocessingml.document') return { type: 'docx' };
    if (found.mime === 'application/zip' && (bytes.includes('word/document.xml') || BY_MEDIA_TYPE[declared] === 'docx'))
      return { type: 'docx' };
    if (OCR_IMAGES.has(found.mime)) return { type: 'image', mime: found.mime };
    if (!found.mime.startsWith('text/') && found.mime !== 'application/xml')
      throw new ExtractionError(`Unsupported file type: ${NAMES[found.mime] ?? `${found.mime} (.${found.ext})`}`);
  }
  const utf16 = bytes[0] === 0xff && bytes[1] === 0xfe ? true : bytes[0] === 0xfe && bytes[1] === 0xff;
  if (!utf16 && bytes.subarray(0, 8192).includes(0))
    throw new ExtractionError(`Unsupported file type: binary data (${declared || 'no content type'})`);
  const start = head(bytes);
  if (looksLikeHtml(start)) return { type: 'html' };
  const byType = BY_MEDIA_TYPE[declared] ?? (declared.endsWith('+json') ? 'json' : undefined);
  if (byType && byType !== 'text' && byType !== 'pdf' && byType !== 'docx') return { type: byType };
  const byExtension = BY_EXTENSION[extensionOf(filename)];
  if (byExtension && byExtension !== 'text' && byExtension !== 'pdf' && byExtension !== 'docx') return { type: byExtension };
  if (byType === 'pdf' || byExtension === 'pdf') throw new ExtractionError('The file is not a PDF, though it is named or declared as one');
  if (byType === 'docx' || byExtension === 'docx')
    throw new ExtractionError('The file is not a Word (DOCX) document, though it is named or declared as one');
  if (!byType && (start.startsWith('{') || start.startsWith('['))) {
    try {
      JSON.parse(decodeText(bytes));
      return { type: 'json' };
    } catch {
      // not JSON after all: plain text
    }
  }
  return { type: 'text' };
}

/** The charset an HTML page declares in a `<meta>` of its first 2 KB. */
export function htmlMetaCharset(bytes: Buffer): string | undefined {
  const start = bytes.subarray(0, 2048).toString('latin1');
  return /<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)/i.exec(start)?.[1] ?? undefined;
}

const validUtf8 = (bytes: Buffer): boolean => {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
};

/**
 * Bytes to a string, without a byte-order mark: the BOM's encoding, else the declared charset
 * (`contentType`, then an HTML `<meta charset>` when `html`), else UTF-8 when the bytes are valid
 * UTF-8, else the encoding chardet detects (windows-1252 when it cannot tell).
 */
export function decodeText(bytes: Buffer, contentType?: string, html = false): string {
  const lib = iconvLite();
  let charset: string | undefined;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) charset = 'utf-8';
  else if (bytes[0] === 0xff && bytes[1] === 0xfe) charset = 'utf-16le';
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) charset = 'utf-16be';
  const declared = [charsetOf(contentType), html ? htmlMetaCharset(bytes) : undefined].find((c) => c && lib.encodingExists(c));
  charset ??= declared;
  // A page labelled UTF-8 (often by default) that is not: detect instead.
  if (charset && /^utf-?8$/i.test(charset) && !validUtf8(bytes)) charset = undefined;
  if (!charset) {
    if (validUtf8(bytes)) charset = 'utf-8';
    else {
      const guess = chardet().detect(bytes.subarray(0, 64 * 1024));
      charset = guess && lib.encodingExists(guess) ? guess : 'windows-1252';
    }
  }
  // HTML's rule: a page labelled ISO-8859-1 is read as windows-1252 (its superset).
  if (/^(iso-?8859-1|latin-?1|us-ascii|ascii)$/i.test(charset)) charset = 'windows-1252';
  return lib.decode(bytes, charset).replace(/^\uFEFF/, '');
}
