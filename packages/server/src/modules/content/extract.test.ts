import { describe, expect, it } from 'vitest';
import { ExtractionError, countWords, detectType, extractContent, normalizeText } from './extract.js';
import { detectLanguage } from './language.js';
import { ARTICLE_SENTENCE, makeDocx, makeHtml, makePdf } from './test/fixtures.js';

const typeOf = async (...args: Parameters<typeof detectType>) => (await detectType(...args)).type;

describe('type detection', () => {
  it('trusts magic bytes over the declared type', async () => {
    expect(await typeOf(makePdf(['x']), 'application/octet-stream')).toBe('pdf');
    expect(await typeOf(makePdf(['x']), 'text/plain', 'notes.txt')).toBe('pdf');
    expect(await typeOf(await makeDocx(['x']), 'application/octet-stream', 'x.bin')).toBe('docx');
  });
  it('sniffs HTML first, then uses headers, then extensions, then a sniff for JSON', async () => {
    expect(await typeOf(Buffer.from('a,b\n1,2'), 'text/csv')).toBe('csv');
    expect(await typeOf(Buffer.from('# Title'), 'application/octet-stream', 'readme.md')).toBe('markdown');
    expect(await typeOf(Buffer.from('<!doctype html><p>x</p>'), '')).toBe('html');
    expect(await typeOf(Buffer.from('{"a": 1}'), '')).toBe('json');
    expect(await typeOf(Buffer.from('{not json'), '')).toBe('text');
    expect(await typeOf(Buffer.from('<html>'), 'text/plain')).toBe('html');
  });
  it('refuses binary formats it cannot read, by name', async () => {
    await expect(detectType(Buffer.from([0x1f, 0x8b, 8, 0, 0, 0]), 'application/gzip')).rejects.toThrow(/gzip archive/);
    await expect(detectType(Buffer.from([1, 2, 0, 4]), 'application/octet-stream')).rejects.toThrow(ExtractionError);
    await expect(detectType(Buffer.from('PK\u0003\u0004random'), 'application/zip')).rejects.toThrow(/ZIP archive/);
    await expect(detectType(Buffer.from('plain words'), 'application/pdf', 'x.pdf')).rejects.toThrow(/not a PDF/);
  });
});

describe('extraction', () => {
  it('PDF: text of every page, page count, title', async () => {
    const out = await extractContent(makePdf(['Hello from page one.', 'Second page (with parentheses).'], 'Quarterly Report'));
    expect(out.type).toBe('pdf');
    expect(out.pageCount).toBe(2);
    expect(out.title).toBe('Quarterly Report');
    expect(out.text).toContain('Hello from page one.');
    expect(out.text).toContain('Second page (with parentheses).');
  });
  it('a corrupt PDF is a readable error', async () => {
    await expect(extractContent(Buffer.from('%PDF-1.4\ngarbage'), 'application/pdf')).rejects.toThrow(/^The PDF is corrupt/);
  });
  it('DOCX: paragraphs', async () => {
    const out = await extractContent(await makeDocx(['Meeting notes', 'We agreed to ship on Friday.']));
    expect(out.type).toBe('docx');
    expect(out.text).toBe('Meeting notes\n\nWe agreed to ship on Friday.');
    expect(out.title).toBe('Meeting notes');
  });
  it('HTML: title and main text, not navigation, scripts or footer', async () => {
    const out = await extractContent(Buffer.from(makeHtml()), 'text/html; charset=utf-8');
    expect(out.type).toBe('html');
    expect(out.title).toBe('Harbour Lights');
    expect(out.text).toContain(ARTICLE_SENTENCE);
    expect(out.text).toContain('Today the lighthouse is a museum');
    for (const noise of ['Shop now', 'About us', 'should not appear', 'All rights reserved', 'color:red'])
      expect(out.text).not.toContain(noise);
    // Paragraphs stay separate (textContent would run them together).
    expect(out.text).toMatch(/go home across the dark water\.|find their way home across the dark water\.\n/);
  });
  it('Markdown: title from the first heading, markup removed', async () => {
    const out = await extractContent(
      Buffer.from('# Release notes\n\nSome **bold** and a [link](http://x).\n\n- item one'),
      'text/markdown',
    );
    expect(out.title).toBe('Release notes');
    expect(out.text).toBe('Release notes\n\nSome bold and a link.\n\n- item one');
  });
  it('JSON: leaf values with their paths; CSV and text as they are', async () => {
    const json = await extractContent(Buffer.from('{"title":"Doc","tags":["a","b"],"n":{"k":1}}'), 'application/json');
    expect(json.text).toBe('title: Doc\ntags[0]: a\ntags[1]: b\nn.k: 1');
    expect(json.title).toBe('Doc');
    const csv = await extractContent(Buffer.from('name,age\r\nAda,36\r\n'), 'text/csv');
    expect(csv.text).toBe('name,age\nAda,36');
  });
  it('decodes the declared charset', async () => {
    const latin1 = Buffer.from([0x63, 0x61, 0x66, 0xe9]); // "café" in ISO-8859-1
    expect((await extractContent(latin1, 'text/plain; charset=iso-8859-1')).text).toBe('café');
  });
});

describe('normalization', () => {
  it('NFC, line breaks, control characters, spaces, blank lines', () => {
    expect(normalizeText('Cafe\u0301\r\n\r\n\r\n\r\nnext\tline  with   spaces\u0007\u00a0end ')).toBe('Café\n\nnext line with spaces end');
  });
  it('counts words and detects the language where it can', async () => {
    expect(countWords("It's a well-known fact: 3 cats.")).toBe(6);
    const samples: Record<string, string> = {
      en: 'Report 7: the harbour committee met on Tuesday to discuss the lighthouse budget and the repairs to the old pier.',
      de: 'Das Wetter ist heute sonnig und warm, und die Kinder spielen im Park.',
      fr: "Le comité du port s'est réuni mardi pour discuter du budget du phare et des réparations de la vieille jetée.",
      es: 'El comité del puerto se reunió el martes para discutir el presupuesto del faro y las reparaciones del muelle.',
      ru: 'Комитет порта собрался во вторник, чтобы обсудить бюджет маяка и ремонт старого причала.',
      ja: '港湾委員会は火曜日に会合を開き、灯台の予算と古い桟橋の修理について話し合った。',
    };
    for (const [lang, text] of Object.entries(samples)) expect(await detectLanguage(text), lang).toBe(lang);
    expect(await detectLanguage('ok')).toBeUndefined();
    expect(await detectLanguage('ok fine yes')).toBeUndefined();
    expect(await detectLanguage('12 34 56 78')).toBeUndefined();
  });
});
