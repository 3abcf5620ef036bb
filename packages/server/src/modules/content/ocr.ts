import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExtractionError } from './errors.js';

const run = (cmd: string, args: string[], timeoutMs: number, input?: Buffer) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
    if (input) child.stdin?.end(input);
  });

const missing = (err: unknown, what: string) =>
  (err as NodeJS.ErrnoException).code === 'ENOENT'
    ? new ExtractionError(`OCR is on (LOAM_OCR=tesseract) but ${what} is not installed`)
    : new ExtractionError(`OCR failed: ${what} did not finish (${(err as Error).message.split('\n')[0].slice(0, 200)})`);

/** Text of an image, by the `tesseract` command (Debian `tesseract-ocr`). */
export async function ocrImage(bytes: Buffer, timeoutMs: number): Promise<string> {
  try {
    return await run('tesseract', ['stdin', 'stdout', '-l', 'eng'], timeoutMs, bytes);
  } catch (err) {
    throw missing(err, 'tesseract');
  }
}

/** Text of an image-only PDF: its pages rendered by `pdftoppm` (poppler-utils), then OCRed. */
export async function ocrPdf(bytes: Buffer, maxPages: number, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const dir = await mkdtemp(join(tmpdir(), 'loam-ocr-'));
  try {
    await writeFile(join(dir, 'in.pdf'), bytes);
    try {
      await run('pdftoppm', ['-r', '150', '-gray', '-png', '-l', String(maxPages), join(dir, 'in.pdf'), join(dir, 'page')], timeoutMs);
    } catch (err) {
      throw missing(err, 'pdftoppm (poppler-utils)');
    }
    const pages = (await readdir(dir)).filter((f) => f.startsWith('page')).sort();
    const texts: string[] = [];
    for (const page of pages) {
      try {
        texts.push(await run('tesseract', [join(dir, page), 'stdout', '-l', 'eng'], Math.max(1000, deadline - Date.now())));
      } catch (err) {
        throw missing(err, 'tesseract');
      }
    }
    return texts.join('\n\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
