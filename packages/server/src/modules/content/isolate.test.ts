import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExtractionError } from './extract.js';
import { ExtractionPool } from './isolate.js';

const doc = (name: string) => readFileSync(join(import.meta.dirname, 'test/docs', name));

describe('extraction in worker threads', () => {
  const pool = new ExtractionPool({ timeoutMs: 60_000, memoryMb: 64, workers: 1 });
  afterAll(() => pool.close());

  it('extracts off the main thread, with the word count', async () => {
    const out = await pool.extract(doc('libffi-closure-example.html'), 'text/html', 'x.html', {});
    expect(out.type).toBe('html');
    expect(out.text).toContain('A trivial example that creates a new puts');
    expect(out.wordCount).toBeGreaterThan(50);
  });

  it('a document over its heap cap fails with a readable error, and the next document still works', async () => {
    // One line of 40 million characters: normalizing it needs several copies, far over 64 MB.
    const huge = Buffer.alloc(40_000_000, 'word ');
    const err = await pool.extract(huge, 'text/plain', 'huge.txt', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractionError);
    expect((err as Error).message).toMatch(/more than 64 MB of memory.*LOAM_CONTENT_EXTRACT_MEMORY_MB/);
    expect((await pool.extract(Buffer.from('still alive'), 'text/plain', 'a.txt', {})).text).toBe('still alive');
  });

  it('a document past its deadline is stopped with a readable error', async () => {
    const slow = new ExtractionPool({ timeoutMs: 100, memoryMb: 256, workers: 1 });
    try {
      const err = await slow.extract(doc('rustdoc-option.html'), 'text/html', 'x.html', {}).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ExtractionError);
      expect((err as Error).message).toMatch(/longer than 100 ms.*LOAM_CONTENT_EXTRACT_TIMEOUT_MS/);
    } finally {
      await slow.close();
    }
  });

  it("a parser's failure is a permanent ExtractionError in Loam's words", async () => {
    const err = await pool.extract(Buffer.from('%PDF-1.4\ngarbage'), 'application/pdf', 'x.pdf', {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractionError);
    expect((err as Error).message).toBe('The PDF is corrupt or not a PDF (its structure cannot be read)');
  });
});
