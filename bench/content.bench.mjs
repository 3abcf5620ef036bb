#!/usr/bin/env node
/**
 * Content benchmark (SQLite, local blob store, one process), each number next to a baseline
 * measured in the same run:
 *
 * 1. Inline text end to end: BENCH_TEXTS (default 2000) POST /ingest/text over HTTP (autocannon,
 *    16 connections) with LOAM_JOB_CONCURRENCY workers in the same process, timed until every item
 *    is COMPLETED (stored, processed by a job, indexed for full-text search). Target ≥ 200 items/s.
 *    Baseline: a bare Fastify route inserting the same text into a SQLite table. Run twice: all in
 *    one process, and split into an HTTP process and a worker process (as `loam worker` scales out).
 * 2. Extraction throughput: HTML (readability + linkedom) and PDF (unpdf), documents/s and MB/s.
 *    Baselines: Readability on linkedom alone, linkedom parse + textContent alone; unpdf extractText alone.
 * 3. Pre-signing: POST /generate-upload-url req/s (authenticated, quota check, key recorded, HMAC)
 *    vs GET /healthz on the same server.
 *
 * Run: node bench/content.bench.mjs   (--json for one machine-readable line)
 */
import { loadavg } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import autocannon from 'autocannon';
import { register } from 'tsx/esm/api';

register();
const ADMIN_KEY = 'loam_sk_bench_admin_0123456789abcdefghij';
const { createLoam } = await import('../packages/server/src/app.ts');
const { loadConfig } = await import('../packages/server/src/config.ts');
const { extractContent } = await import('../packages/server/src/modules/content/extract.ts');
const { makeHtml, makePdf } = await import('../packages/server/src/modules/content/test/fixtures.ts');
const { default: Fastify } = await import('fastify');
const { default: Database } = await import('better-sqlite3');
const { parseHTML } = await import('linkedom');
const { Readability } = await import('@mozilla/readability');
const { extractText, getDocumentProxy } = await import('unpdf');

// `--worker <dataDir>`: the job-worker process of the split run (what `loam worker` does).
if (process.argv[2] === '--worker') {
  const config = loadConfig(
    {},
    {
      dataDir: process.argv[3],
      databaseUrl: process.argv[4] ?? '',
      logLevel: 'silent',
      adminApiKey: ADMIN_KEY,
      jobPollMs: 10,
      relayPollMs: 50,
    },
  );
  const loam = await createLoam(config);
  await loam.bootstrap();
  loam.startBackground({ workers: config.jobConcurrency, relay: true });
  process.on('SIGTERM', () => loam.close(2000).then(() => process.exit(0)));
  process.send?.('ready');
  await new Promise(() => {});
}

const json = process.argv.includes('--json');
const TEXTS = Number(process.env.BENCH_TEXTS ?? 2000);
const ADMIN = ADMIN_KEY;
const results = {};

const cannon = (opts) =>
  new Promise((resolve, reject) => {
    autocannon(opts, (err, res) => (err ? reject(err) : resolve(res)));
  });

const sampleText = (i) =>
  `Report ${i}: the harbour committee met on Tuesday to discuss the lighthouse budget, the new ferry timetable and the repairs to the old pier. Members agreed to publish the minutes next week.`;

// 1. Inline text ingestion, end to end.
{
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-content-'));
  const config = loadConfig(
    {},
    { dataDir, logLevel: 'silent', adminApiKey: ADMIN, rateLimitEnabled: false, jobPollMs: 20, relayPollMs: 50, port: 0 },
  );
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  loam.startBackground({ workers: config.jobConcurrency, relay: true });
  const db = loam.platform.database.db;
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  const http = await cannon({
    url: `${url}/ingest/text`,
    connections: 16,
    amount: TEXTS,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
    // The load generator runs in a worker thread, off the server's event loop.
    workers: 1,
    body: JSON.stringify({ content: sampleText(1) }),
  });
  const accepted = performance.now();
  if (http.non2xx > 0) throw new Error(`ingest answered ${http.non2xx} non-2xx responses`);
  let completed = 0;
  while (completed < TEXTS) {
    const row = await db
      .selectFrom('content_items')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('status', '=', 'COMPLETED')
      .executeTakeFirstOrThrow();
    completed = Number(row.n);
    if (completed < TEXTS) await new Promise((r) => setTimeout(r, 20));
    if (performance.now() - started > 300_000) throw new Error(`only ${completed}/${TEXTS} completed after 300 s`);
  }
  const done = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const hits = await loam.services.content.searchText('default', 'lighthouse ferry', 5);
  if (hits.length === 0) throw new Error('search found nothing after ingestion');
  await loam.close(5000);
  rmSync(dataDir, { recursive: true, force: true });

  // Baseline: bare Fastify + one SQLite insert per request, same client load.
  const baseDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-base-'));
  const sqlite = new Database(join(baseDir, 'base.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.exec('create table texts (id integer primary key, body text not null)');
  const insert = sqlite.prepare('insert into texts (body) values (?)');
  const bare = Fastify();
  bare.post('/ingest/text', async (req) => ({ id: Number(insert.run(req.body.content).lastInsertRowid) }));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const bcpu0 = process.cpuUsage();
  const b0 = performance.now();
  await cannon({
    url: `http://127.0.0.1:${bare.server.address().port}/ingest/text`,
    connections: 16,
    amount: TEXTS,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // The load generator runs in a worker thread, off the server's event loop.
    workers: 1,
    body: JSON.stringify({ content: sampleText(1) }),
  });
  const b1 = performance.now();
  const bcpu = process.cpuUsage(bcpu0);
  await bare.close();
  sqlite.close();
  rmSync(baseDir, { recursive: true, force: true });

  results.ingest = {
    items: TEXTS,
    accepted_per_s: Math.round(TEXTS / ((accepted - started) / 1000)),
    completed_per_s: Math.round(TEXTS / ((done - started) / 1000)),
    p99_accept_ms: http.latency.p99,
    baseline_bare_insert_per_s: Math.round(TEXTS / ((b1 - b0) / 1000)),
    // CPU time of this process (server, workers, relay and the in-process load generator) per item:
    // less sensitive than wall time to other processes on a shared machine.
    cpu_ms_per_item: Math.round(((cpu.user + cpu.system) / 1000 / TEXTS) * 100) / 100,
    baseline_cpu_ms_per_item: Math.round(((bcpu.user + bcpu.system) / 1000 / TEXTS) * 100) / 100,
  };
}

// 1b. The same, split: this process serves HTTP only, a second process (like `loam worker`) runs
// the jobs and the relay, so the two cores both work. Scale-out runs on PostgreSQL
// (BENCH_POSTGRES_URL, a server URL: a scratch database is created and dropped).
const PG = process.env.BENCH_POSTGRES_URL;
if (PG) {
  const { default: pg } = await import('pg');
  const name = `loam_bench_content_${Date.now()}`;
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const databaseUrl = Object.assign(new URL(PG), { pathname: `/${name}` }).toString();
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-split-'));
  const config = loadConfig(
    {},
    { dataDir, databaseUrl, logLevel: 'silent', adminApiKey: ADMIN, rateLimitEnabled: false, jobConcurrency: 0 },
  );
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const child = fork(new URL(import.meta.url).pathname, ['--worker', dataDir, databaseUrl], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('message', resolve));
  const db = loam.platform.database.db;
  const started = performance.now();
  const http = await cannon({
    url: `http://127.0.0.1:${app.server.address().port}/ingest/text`,
    connections: 16,
    amount: TEXTS,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
    // The load generator runs in a worker thread, off the server's event loop.
    workers: 1,
    body: JSON.stringify({ content: sampleText(1) }),
  });
  const accepted = performance.now();
  if (http.non2xx > 0) throw new Error(`ingest answered ${http.non2xx} non-2xx responses`);
  let completed = 0;
  while (completed < TEXTS) {
    const row = await db
      .selectFrom('content_items')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('status', '=', 'COMPLETED')
      .executeTakeFirstOrThrow();
    completed = Number(row.n);
    if (completed < TEXTS) await new Promise((r) => setTimeout(r, 20));
    if (performance.now() - started > 300_000) throw new Error(`only ${completed}/${TEXTS} completed after 300 s`);
  }
  const done = performance.now();
  child.kill('SIGTERM');
  await new Promise((resolve) => child.once('exit', resolve));
  await loam.close(2000);
  rmSync(dataDir, { recursive: true, force: true });
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
  results.ingest_split = {
    items: TEXTS,
    accepted_per_s: Math.round(TEXTS / ((accepted - started) / 1000)),
    completed_per_s: Math.round(TEXTS / ((done - started) / 1000)),
  };
}

// 2. Extraction throughput.
async function throughput(fn, bytes, ms = 3000) {
  for (let k = 0; k < 5; k++) await fn();
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    await fn();
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  return { docs_per_s: Math.round((n / s) * 10) / 10, mb_per_s: Math.round(((n * bytes) / s / 1e6) * 100) / 100 };
}
{
  const paragraphs = Array.from(
    { length: 120 },
    (_, k) => `<p>Paragraph ${k} of the article about the harbour, its lighthouse and the keeper who climbed the stairs every evening.</p>`,
  ).join('\n');
  const html = Buffer.from(makeHtml('Harbour Lights').replace('</article>', `${paragraphs}</article>`));
  const loam = await throughput(() => extractContent(html, 'text/html; charset=utf-8'), html.length);
  const parseOnly = await throughput(async () => parseHTML(html.toString()).document.body.textContent, html.length);
  const readabilityOnly = await throughput(async () => new Readability(parseHTML(html.toString()).document).parse(), html.length);
  results.html = {
    doc_kb: Math.round(html.length / 1024),
    ...loam,
    baseline_linkedom_parse: parseOnly,
    baseline_readability: readabilityOnly,
  };

  const pages = Array.from(
    { length: 10 },
    (_, p) => `Page ${p + 1}: ${'The quarterly figures show steady growth in every region. '.repeat(8)}`,
  );
  const pdf = makePdf(pages, 'Bench');
  const loamPdf = await throughput(() => extractContent(pdf, 'application/pdf'), pdf.length);
  const basePdf = await throughput(async () => {
    const doc = await getDocumentProxy(new Uint8Array(pdf));
    await extractText(doc, { mergePages: true });
    await doc.destroy();
  }, pdf.length);
  results.pdf = { pages: 10, doc_kb: Math.round(pdf.length / 1024), ...loamPdf, baseline_unpdf_extract: basePdf };
}

// 3. Pre-signing.
{
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-presign-'));
  const config = loadConfig({}, { dataDir, logLevel: 'silent', adminApiKey: ADMIN, rateLimitEnabled: false });
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  const presign = await cannon({
    url: `${url}/generate-upload-url`,
    connections: 10,
    duration: 5,
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': ADMIN },
    body: JSON.stringify({ filename: 'report.pdf', contentType: 'application/pdf' }),
  });
  const health = await cannon({ url: `${url}/healthz`, connections: 10, duration: 5 });
  if (presign.non2xx > 0) throw new Error(`presign answered ${presign.non2xx} non-2xx responses`);
  results.presign = {
    req_per_s: Math.round(presign.requests.average),
    p99_ms: presign.latency.p99,
    baseline_healthz_req_per_s: Math.round(health.requests.average),
  };
  await loam.close(2000);
  rmSync(dataDir, { recursive: true, force: true });
}

if (json) console.log(JSON.stringify({ bench: 'content', node: process.version, cores: os.cpus().length, results }));
else {
  const r = results;
  console.log(`content (node ${process.version}, ${os.cpus().length} cores, load average ${loadavg()[0].toFixed(1)})`);
  console.log(
    `inline text → COMPLETED: ${r.ingest.completed_per_s} items/s end to end (${r.ingest.items} items; HTTP accepted ${r.ingest.accepted_per_s}/s, p99 ${r.ingest.p99_accept_ms} ms; ${r.ingest.cpu_ms_per_item} CPU ms/item) | baseline bare Fastify + SQLite insert ${r.ingest.baseline_bare_insert_per_s}/s (${r.ingest.baseline_cpu_ms_per_item} CPU ms/item)`,
  );
  if (r.ingest_split)
    console.log(
      `inline text → COMPLETED, PostgreSQL, HTTP process + worker process: ${r.ingest_split.completed_per_s} items/s end to end (HTTP accepted ${r.ingest_split.accepted_per_s}/s)`,
    );
  console.log(
    `HTML extraction (${r.html.doc_kb} KB page): ${r.html.docs_per_s} docs/s, ${r.html.mb_per_s} MB/s | baseline Readability on linkedom ${r.html.baseline_readability.docs_per_s} docs/s, linkedom parse alone ${r.html.baseline_linkedom_parse.docs_per_s} docs/s`,
  );
  console.log(
    `PDF extraction (${r.pdf.pages} pages, ${r.pdf.doc_kb} KB): ${r.pdf.docs_per_s} docs/s, ${r.pdf.mb_per_s} MB/s | baseline unpdf alone ${r.pdf.baseline_unpdf_extract.docs_per_s} docs/s`,
  );
  console.log(
    `presign: ${r.presign.req_per_s} req/s (p99 ${r.presign.p99_ms} ms) | baseline GET /healthz ${r.presign.baseline_healthz_req_per_s} req/s`,
  );
}
