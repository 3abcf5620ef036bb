import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractContent } from './extract.js';

// Debian's tesseract-ocr and poppler-utils: .ci/run installs them, so CI runs these tests.
const installed = (cmd: string) => {
  try {
    execFileSync(cmd, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const available = installed('tesseract') && installed('pdftoppm');
const doc = (name: string) => readFileSync(join(import.meta.dirname, 'test/docs', name));

describe.skipIf(!available && !process.env.CI)('OCR with tesseract (LOAM_OCR=tesseract)', () => {
  it('a scanned (image-only) PDF is read', async () => {
    const out = await extractContent(doc('gzip-readme-scanned.pdf'), 'application/pdf', 'scan.pdf', { ocr: 'tesseract' });
    expect(out.warning).toBeUndefined();
    expect(out.text).toContain('This is the file README for the gzip');
    expect(out.text).toMatch(/gzip \(GNU zip\) is a compression/);
  }, 60_000);
  it('an image is read', async () => {
    const out = await extractContent(doc('gzip-readme-page.png'), 'image/png', 'page.png', { ocr: 'tesseract' });
    expect(out.type).toBe('image');
    expect(out.text).toContain('gzip README');
  }, 60_000);
});
