#!/usr/bin/env node
/**
 * Extraction benchmark, two parts:
 *
 * 1. Quality: every document of the corpus that bench/extraction-corpus.sh builds from Debian
 *    documentation (HTML pages incl. the Rust book and std API pages of rust-doc, PDFs typeset by
 *    groff incl. two-column and tbl tables, DOCX made by pandoc, Markdown, plain text) is extracted
 *    by Loam (`extractContent`) and scored against an independent reference: pdftotext (PDF),
 *    pandoc (DOCX, Markdown), the file itself (text), a DOM walk by Python's html.parser
 *    (bench/html-reference.py; HTML). Score: word-set overlap = share of the reference's distinct
 *    words (lower-cased letters/digits) that Loam's text has; precision (Loam's words found in the
 *    reference) is shown beside it. Prints the median per type and the worst document.
 * 2. Isolation: a large PDF (a groff-typeset man page, copies joined by pdfunite into thousands of
 *    pages) is uploaded to a running `loam serve` (the built bundle) while GET /health is polled
 *    every 20 ms; reports /health p50/p99/max and the server's peak RSS during extraction against
 *    the same figures with the server idle (the baseline, same run), and how many times the
 *    document was extracted (jobs attempts, content.processed events).
 *
 *    The same with a 50 MiB plain-text file (its 20 M characters saved and indexed in one
 *    transaction).
 *
 * Run: bash bench/extraction-corpus.sh && npm run build && node bench/extraction.bench.mjs
 * (BENCH_CORPUS=dir, BENCH_PDF_COPIES=n (default 130: ~11,000 pages, ~50 MB), --quality-only,
 * --isolation-only, --isolation-pdf, --isolation-text)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';
import { ROOT, median, rssOf, sleep, startLoam, table } from './common.mjs';

const CORPUS = process.env.BENCH_CORPUS ?? '/tmp/loam-extraction-corpus';
const only = process.argv.slice(2);
console.log(
  `load: ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (${os.cpus().length} cores)`,
);

const words = (s) => new Set((s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length > 1 || /\d/.test(w)));
function score(ours, ref) {
  const a = words(ours);
  const b = words(ref);
  let both = 0;
  for (const w of b) if (a.has(w)) both++;
  let inRef = 0;
  for (const w of a) if (b.has(w)) inRef++;
  return { recall: b.size ? both / b.size : 1, precision: a.size ? inRef / a.size : 1, refWords: b.size };
}

const MIME = { html: 'text/html', pdf: 'application/pdf', docx: 'application/octet-stream', markdown: 'text/markdown', text: 'text/plain' };
const CHROME = ['Expand description', 'Keyboard shortcuts', '· Source', 'Press ← or → to navigate'];

async function quality() {
  if (!existsSync(CORPUS)) throw new Error(`no corpus at ${CORPUS}: run bash bench/extraction-corpus.sh first`);
  register();
  const { extractContent } = await import('../packages/server/src/modules/content/extract.ts');
  const rows = [];
  const all = [];
  for (const type of ['html', 'pdf', 'docx', 'markdown', 'text']) {
    const scores = [];
    for (const file of readdirSync(join(CORPUS, type)).sort()) {
      const path = join(CORPUS, type, file);
      const name = file.replace(/\.[^.]+$/, '');
      const ref =
        type === 'html'
          ? execFileSync('python3', [join(ROOT, 'bench/html-reference.py'), path], { encoding: 'utf8', maxBuffer: 1 << 28 })
          : readFileSync(join(CORPUS, 'refs', type, `${name}.txt`), 'utf8');
      const t0 = performance.now();
      let out;
      try {
        out = await extractContent(readFileSync(path), MIME[type], file);
      } catch (err) {
        out = { text: '', error: err.message };
      }
      const ms = performance.now() - t0;
      const s = { type, file, ...score(out.text, ref), ms, error: out.error, chrome: CHROME.filter((c) => out.text.includes(c)) };
      scores.push(s);
      all.push(s);
    }
    const worst = scores.reduce((w, s) => (s.recall < w.recall ? s : w), scores[0]);
    rows.push({
      type,
      docs: scores.length,
      'median overlap': median(scores.map((s) => s.recall)).toFixed(3),
      'median precision': median(scores.map((s) => s.precision)).toFixed(3),
      'worst overlap': worst.recall.toFixed(3),
      'worst document': worst.file.slice(0, 48),
      'ms/doc (median)': median(scores.map((s) => s.ms)).toFixed(0),
    });
  }
  console.log(`\nExtraction quality over ${all.length} documents of ${CORPUS}`);
  console.log(table(rows));
  const bad = all.filter((s) => s.recall < 0.9 || s.error || s.chrome.length);
  if (bad.length) {
    console.log('\nDocuments under 0.90, failed, or with chrome:');
    for (const s of bad)
      console.log(
        `  ${s.type} ${s.file}: overlap ${s.recall.toFixed(3)} precision ${s.precision.toFixed(3)} ${s.error ?? ''} ${s.chrome.join(', ')}`,
      );
  }
}

const ADMIN_KEY = 'loam_sk_bench_admin_0123456789abcdefghij';

function bigPdf() {
  const dir = mkdtempSync(join(os.tmpdir(), 'loam-bigpdf-'));
  const one = join(dir, 'bash.pdf');
  execFileSync('sh', ['-c', `zcat -f "$(man -w bash)" | groff -man -Tpdf > ${one}`]);
  const copies = Number(process.env.BENCH_PDF_COPIES ?? 130);
  const big = join(dir, 'big.pdf');
  execFileSync('pdfunite', [...Array(copies).fill(one), big]);
  const pages = /Pages:\s+(\d+)/.exec(execFileSync('pdfinfo', [big], { encoding: 'utf8' }))?.[1];
  return { path: big, pages: Number(pages), bytes: statSync(big).size };
}

async function poll(url, pid, until) {
  const lat = [];
  let peak = 0;
  while (!(await until())) {
    const t0 = performance.now();
    await fetch(`${url}/health`).then((r) => r.arrayBuffer());
    lat.push(performance.now() - t0);
    peak = Math.max(peak, rssOf(pid) ?? 0);
    await sleep(20);
  }
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
  return { n: lat.length, p50: q(0.5), p99: q(0.99), max: lat.at(-1), peakMb: peak / 2 ** 20 };
}

/** 50 MiB of plain text: prose lines of varied words (over LOAM_CONTENT_MAX_EXTRACTED_CHARS, 20 M, so cut there). */
function bigText() {
  const words = readFileSync(join(ROOT, 'README.md'), 'utf8').match(/[A-Za-z]{3,}/g);
  const lines = [];
  let n = 0;
  for (let i = 0; n < 50 * 2 ** 20; i++) {
    const line = `${Array.from({ length: 12 }, (_, j) => words[(i * 31 + j * 7 + ((i * j) % 13)) % words.length]).join(' ')} ${i}.`;
    lines.push(line);
    n += line.length + 1;
  }
  return Buffer.from(lines.join('\n'));
}

async function isolation(kind) {
  const doc =
    kind === 'text'
      ? { name: 'big.txt', contentType: 'text/plain', body: bigText() }
      : (() => {
          const pdf = bigPdf();
          return { name: 'big.pdf', contentType: 'application/pdf', body: readFileSync(pdf.path), pages: pdf.pages };
        })();
  console.log(
    `\nIsolation: ${doc.name}${doc.pages ? ` ${doc.pages} pages (groff + pdfunite)` : ''}, ${(doc.body.length / 2 ** 20).toFixed(1)} MiB; load ${os.loadavg()[0].toFixed(1)}`,
  );
  const loam = await startLoam({
    LOAM_ADMIN_API_KEY: ADMIN_KEY,
    LOAM_RATE_LIMIT_ENABLED: 'false',
    LOAM_JOB_LEASE_MS: '5000',
    LOAM_CONTENT_EXTRACT_TIMEOUT_MS: '900000',
  });
  const headers = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };
  try {
    const stop = Date.now() + 3000;
    const idle = await poll(loam.url, loam.pid, async () => Date.now() > stop);
    const created = await (
      await fetch(`${loam.url}/ingest/file`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ filename: doc.name, contentType: doc.contentType }),
      })
    ).json();
    const put = await fetch(created.uploadUrl, {
      method: 'PUT',
      headers: { 'content-type': doc.contentType },
      body: doc.body,
    });
    if (!put.ok) throw new Error(`upload failed: ${put.status} ${await put.text()}`);
    const t0 = Date.now();
    let item;
    let checks = 0;
    const busy = await poll(loam.url, loam.pid, async () => {
      if (++checks % 25) return false; // the item is looked at every ~0.5 s
      item = await (await fetch(`${loam.url}/content/${created.id}`, { headers })).json();
      return item.status === 'COMPLETED' || item.status === 'ERROR';
    });
    const seconds = (Date.now() - t0) / 1000;
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(loam.dataDir, 'loam.db'), { readonly: true });
    const job = db.prepare("select attempts, status from jobs where kind = 'content.process'").get();
    const processed = db.prepare("select count(*) n from outbox_events where type like '%content.processed'").get()?.n;
    db.close();
    console.log(
      table([
        {
          phase: 'idle (baseline)',
          requests: idle.n,
          'p50 ms': idle.p50.toFixed(1),
          'p99 ms': idle.p99.toFixed(1),
          'max ms': idle.max.toFixed(1),
          'peak RSS MB': idle.peakMb.toFixed(0),
        },
        {
          phase: 'extracting',
          requests: busy.n,
          'p50 ms': busy.p50.toFixed(1),
          'p99 ms': busy.p99.toFixed(1),
          'max ms': busy.max.toFixed(1),
          'peak RSS MB': busy.peakMb.toFixed(0),
        },
      ]),
    );
    console.log(`load ${os.loadavg()[0].toFixed(1)}`);
    console.log(
      `item ${item.status} in ${seconds.toFixed(1)} s: ${item.pageCount} pages, ${item.wordCount} words${item.error ? `, error: ${item.error}` : ''}${item.warning ? `, warning: ${item.warning}` : ''}; job attempts ${job?.attempts} (${job?.status}), content.processed events ${processed}`,
    );
  } finally {
    await loam.stop();
  }
}

if (!only.some((o) => o.startsWith('--isolation'))) await quality();
if (!only.includes('--quality-only') && !only.includes('--isolation-text')) await isolation('pdf');
if (!only.includes('--quality-only') && !only.includes('--isolation-pdf')) await isolation('text');
