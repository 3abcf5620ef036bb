import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeText, detectType, extractContent } from './extract.js';
import { detectLanguage } from './language.js';

// Fixtures are real documents (or cuts of them) from Debian documentation packages, and files
// made from them with Debian tools (groff, ghostscript, poppler, pandoc): see test/docs/README.md.
const doc = (name: string) => readFileSync(join(import.meta.dirname, 'test/docs', name));
const extract = (name: string, type?: string) => extractContent(doc(name), type, name);

describe('HTML from real documentation', () => {
  it('rustdoc: method signatures and section headings stay, "source" links and toggles go', async () => {
    const out = await extract('rustdoc-option.html', 'text/html');
    expect(out.title).toBe('Option in std::option - Rust');
    for (const signature of ['pub const fn is_some(&self) -> bool', 'pub const fn as_ref(&self) -> Option<&T>', 'pub fn is_some_and('])
      expect(out.text).toContain(signature);
    expect(out.text).toMatch(/^Implementations$/m);
    expect(out.text).toMatch(/^Variants$/m);
    for (const chrome of ['Expand description', '· source', '[−]', '\nRun\n']) expect(out.text).not.toContain(chrome);
  });
  it('mdBook: the chapter without sidebar, menu bar or keyboard-help popup; code keeps its indentation', async () => {
    // mdBook ≥ 0.4.44 adds a keyboard-help popup to every page; spliced in as it emits it.
    const popup =
      '<div id="mdbook-help-container"><div id="mdbook-help-popup"><h2 class="mdbook-help-title">Keyboard shortcuts</h2><div><p>Press <kbd>←</kbd> or <kbd>→</kbd> to navigate between chapters</p></div></div></div>';
    const html = doc('mdbook-vectors.html')
      .toString('utf8')
      .replace('<body', `${popup}<body`)
      .replace(/<body([^>]*)>/, `<body$1>${popup}`);
    const out = await extractContent(Buffer.from(html), 'text/html');
    expect(out.title).toBe('Storing Lists of Values with Vectors - The Rust Programming Language');
    expect(out.text.startsWith('Storing Lists of Values with Vectors')).toBe(true);
    expect(out.text).toContain('fn main() {\n    let v: Vec<i32> = Vec::new();\n}');
    for (const chrome of ['Keyboard shortcuts', 'to navigate between chapters', 'Print this book', 'Getting Started'])
      expect(out.text).not.toContain(chrome);
  });
  it('a fragment (a chapter body without <html>/<body>) has its text', async () => {
    const out = await extract('mdbook-vectors-fragment.html', 'text/html');
    expect(out.text.length).toBeGreaterThan(10_000);
    expect(out.text).toContain('Creating a New Vector');
    expect(out.title).toBe('Storing Lists of Values with Vectors');
    expect(out.warning).toBeUndefined();
  });
  it('a page without <body> (groff -Thtml) has its text, and a title better than its file name', async () => {
    const out = await extract('groff-pic-3.html', 'text/html');
    expect(out.text).toContain('Pictures are described procedurally');
    expect(out.title).toBe('3. Basic PIC Concepts');
  });
  it('<pre> keeps its indentation; source line breaks do not stay inside paragraphs', async () => {
    const out = await extract('libffi-closure-example.html', 'text/html');
    expect(out.text).toMatch(/\n {6}\/\* Initialize the argument info vectors \*\/\n {6}args\[0\] = &ffi_type_pointer;/);
    expect(out.text).toContain('A trivial example that creates a new puts by binding fputs with stdout.');
  });
  it('empty, whitespace-only and tag-free HTML complete: a warning, or the text', async () => {
    for (const body of ['', '   \n\t ', '<html><body></body></html>']) {
      const out = await extractContent(Buffer.from(body), 'text/html', 'empty.html');
      expect(out.text).toBe('');
      expect(out.warning).toMatch(/empty|no text/);
    }
    const plain = await extractContent(Buffer.from('Just words, no tags at all.'), 'text/html', 'plain.html');
    expect(plain.text).toBe('Just words, no tags at all.');
  });
  it('a reference page that opens with a grammar block keeps it, and its language is found', async () => {
    const out = await extract('rust-reference-if-expr.html', 'text/html');
    expect(out.text).toMatch(/Syntax\nIfExpression :/);
    expect(await detectLanguage(out.text)).toBe('en');
  });
});

describe('charsets', () => {
  it('HTML <meta charset> is honoured (Latin-1)', async () => {
    const out = await extract('adduser-copyright-latin1.html');
    expect(out.text).toContain('Jörg Hoh');
    expect(out.text).not.toContain('\uFFFD');
  });
  it('undeclared Latin-1 text is detected', async () => {
    expect(decodeText(doc('adduser-copyright-latin1.txt'))).toContain('Jörg Hoh');
    const out = await extract('adduser-copyright-latin1.txt', 'text/plain');
    expect(out.text).toContain('Jörg Hoh');
  });
  it('a declared charset wins over detection', () => {
    expect(decodeText(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'text/plain; charset=ISO-8859-1')).toBe('café');
    expect(decodeText(Buffer.from('café', 'utf8'), 'text/plain; charset=utf-8')).toBe('café');
  });
});

describe('Markdown, parsed', () => {
  it('setext title, code blocks verbatim', async () => {
    const out = await extract('pyyaml-readme.md', 'text/markdown');
    expect(out.title).toBe('PyYAML');
    expect(out.text).not.toContain('======');
    expect(out.text).toContain('>>> yaml.load(stream, Loader=yaml.CLoader)');
    expect(out.text).toContain('To install, type python setup.py install.');
  });
  it('front matter, raw HTML comments and reference definitions are not text', async () => {
    const translators = await extract('systemd-translators.md', 'text/markdown');
    expect(translators.title).toBe('Notes for Translators');
    expect(translators.text).not.toContain('SPDX-License-Identifier');
    expect(translators.text).not.toContain('layout: default');
    const tty = await extract('nodejs-tty.md', 'text/markdown');
    expect(tty.title).toBe('TTY');
    expect(tty.text).not.toMatch(/<!--|YAML|\]: /);
    expect(tty.text).toContain("const tty = require('node:tty');");
  });
  it('# comments and backticks inside code blocks are kept', async () => {
    const out = await extractContent(Buffer.from('Setext title\n============\n\n```sh\n# install it\necho `date`\n```\n'), 'text/markdown');
    expect(out.title).toBe('Setext title');
    expect(out.text).toBe('Setext title\n\n# install it\necho `date`');
  });
});

describe('DOCX (pandoc)', () => {
  it('tables a row per line, lists numbered, code lines separate', async () => {
    const out = await extract('nodejs-building.docx');
    expect(out.text).toContain('Operating System | Compiler Versions\nLinux | GCC >= 10.1\n');
    expect(out.text).toMatch(/^1\. Optional but strongly recommended: open a/m);
    expect(out.text).toMatch(/^4\. Open an issue/m);
    expect(out.text).toContain('export CXX=g++-12\n./configure\nmake -j4');
  });
  it('a corrupt Word document is a Loam error, not a library message', async () => {
    const bytes = doc('nodejs-building.docx').subarray(0, 3000);
    await expect(extractContent(bytes, undefined, 'x.docx')).rejects.toThrow(/^The Word document is corrupt/);
    await expect(extractContent(bytes, undefined, 'x.docx')).rejects.not.toThrow(/jszip|github|https?:/i);
  });
});

describe('PDF (groff, ghostscript)', () => {
  it('words hyphenated at line ends are joined; paragraphs are separated', async () => {
    const out = await extract('gzip-readme-narrow.pdf');
    expect(out.pageCount).toBe(2);
    expect(out.text).toContain('This is the file README for the gzip distribution.');
    expect(out.text).not.toMatch(/\p{Ll}-\n\p{Ll}/u);
    expect(out.text).toContain('\n\ngzip currently uses by default the');
  });
  it('a password-protected PDF (gs -sUserPassword) is refused, saying so', async () => {
    await expect(extract('gzip-readme-password.pdf')).rejects.toThrow('The PDF is password-protected');
  });
  it('an image-only (scanned) PDF completes with a warning saying why', async () => {
    const out = await extract('gzip-readme-scanned.pdf');
    expect(out.text).toBe('');
    expect(out.warning).toMatch(/no text layer.*LOAM_OCR=tesseract/);
  });
  it('an empty file completes with a warning', async () => {
    expect(await extractContent(Buffer.alloc(0), 'application/pdf', 'x.pdf')).toMatchObject({ text: '', warning: 'The file is empty' });
  });
});

describe('type detection by content', () => {
  it('HTML named .pdf or sent as text/plain is HTML', async () => {
    const html = doc('libffi-closure-example.html');
    expect((await detectType(html, 'application/pdf', 'page.pdf')).type).toBe('html');
    expect((await detectType(html, 'text/plain', 'page.txt')).type).toBe('html');
    expect((await extractContent(html, 'text/plain')).title).toBe(
      'Closure Example (libffi: the portable foreign function interface library)',
    );
  });
  it('a PNG is an image; without OCR it is refused by name', async () => {
    expect((await detectType(doc('gzip-readme-page.png'))).type).toBe('image');
    await expect(extractContent(doc('gzip-readme-page.png'))).rejects.toThrow(/^Unsupported file type: a PNG image.*LOAM_OCR/);
  });
});
