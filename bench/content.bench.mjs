#!/usr/bin/env node
/**
 * Content benchmark (SQLite, local blob store, one process), each number next to a baseline
 * measured in the same run:
 *
 * 1. Inline text end to end: BENCH_TEXTS (default 2000) POST /ingest/text over HTTP (autocannon,
 *    16 connections) with LOAM_JOB_CONCURRENCY workers in the same process, timed until every item
 *    is COMPLETED (stored, processed by a job, indexed for full-text search). Target ≥ 200 items/s.
 *    Default configuration apart from rate limits (off). Run on a fresh database and on one with
 *    a past (BENCH_HISTORY, default 100,000 delivered outbox events, as after ~50,000 items; 0 skips
 *    it). The load generator runs in a process of its own, so the CPU time measured is the server
 *    process's. Baseline: a bare Fastify route inserting the same text into a SQLite table. With
 *    BENCH_POSTGRES_URL also split into an HTTP process and a worker process (as `loam worker`
 *    scales out).
 * 2. Extraction throughput: HTML (readability + linkedom) and PDF (unpdf), documents/s and MB/s.
 *    Baselines: Readability on linkedom alone, linkedom parse + textContent alone; unpdf extractText alone.
 * 3. Pre-signing: POST /generate-upload-url req/s (authenticated, quota check, key recorded, HMAC)
 *    vs GET /healthz on the same server.
 *
 * Run: node bench/content.bench.mjs   (--json for one machine-readable line; --ingest-only for part 1
 * alone; BENCH_RUNS=n repeats part 1 and reports the median; BENCH_PROFILE=file.cpuprofile writes a
 * CPU profile of the server's main thread over part 1's ingestion window)
 */
import { loadavg } from 'node:os';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fork } from 'node:child_process';
import autocannon from 'autocannon';
import { register } from 'tsx/esm/api';

// `--load <url> <amount> <apiKey>`: the load generator, in a process of its own so that the CPU
// time measured in this one is the server's alone. Sends its autocannon result back.
if (process.argv[2] === '--load') {
  const [url, amount, key] = process.argv.slice(3);
  autocannon(
    {
      url,
      connections: 16,
      amount: Number(amount),
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { 'x-api-key': key } : {}) },
      body: JSON.stringify({ content: sampleText(1) }),
    },
    (err, res) => {
      process.send?.(err ? { error: String(err) } : { non2xx: res.non2xx, p99: res.latency.p99 }, () => process.exit(0));
    },
  );
  await new Promise(() => {});
}

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

function sampleText(i) {
  return `Report ${i}: the harbour committee met on Tuesday to discuss the lighthouse budget, the new ferry timetable and the repairs to the old pier. Members agreed to publish the minutes next week.`;
}

/** Waits until TEXTS items of the default tenant are COMPLETED (at most 300 s after `started`). */
async function allCompleted(db, started) {
  let completed = 0;
  while (completed < TEXTS) {
    const row = await db
      .selectFrom('content_items')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('tenant_id', '=', 'default') // the (tenant_id, status) index: a cheap count
      .where('status', '=', 'COMPLETED')
      .executeTakeFirstOrThrow();
    completed = Number(row.n);
    if (completed < TEXTS) await new Promise((r) => setTimeout(r, 20));
    if (performance.now() - started > 300_000) throw new Error(`only ${completed}/${TEXTS} completed after 300 s`);
  }
}

/** Sends TEXTS POST requests to `url` from a separate load-generator process (16 connections). */
function load(url, key) {
  return new Promise((resolve, reject) => {
    const child = fork(new URL(import.meta.url).pathname, ['--load', url, String(TEXTS), key ?? ''], { stdio: 'ignore' });
    child.once('message', (m) => (m.error ? reject(new Error(m.error)) : resolve(m)));
    child.once('error', reject);
  });
}

const cpuMs = (c) => (c.user + c.system) / 1000;

/**
 * CPU ms of this process's main thread and of its other threads (libuv's file-system pool, the
 * language-detection thread, V8's GC and compiler threads) so far (Linux /proc; empty elsewhere).
 */
function threadCpu() {
  const out = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const group = process.env.BENCH_TIDS ? tid : Number(tid) === process.pid ? 'main' : 'other threads';
      // utime + stime, in clock ticks of 10 ms.
      out[group] = (out[group] ?? 0) + (Number(fields[11]) + Number(fields[12])) * 10;
    }
  } catch {}
  return out;
}

/**
 * BENCH_PROFILE=<file.cpuprofile>: a CPU profile of the main thread during the ingestion window
 * only (start-up and clean-up left out); open it in Chrome DevTools or speedscope.
 */
async function startProfile() {
  const file = process.env.BENCH_PROFILE;
  if (!file) return undefined;
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((res, rej) => session.post(method, params, (e, r) => (e ? rej(e) : res(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = await post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

// 1. Inline text ingestion, end to end, with the default configuration (SQLite, local blob store,
// LOAM_JOB_CONCURRENCY workers and the event relay in the server process; rate limits off).
// BENCH_RUNS (default 1) repeats it; `--ingest-only` skips parts 1b–3.
async function ingestOnce(history = 0) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-content-'));
  // LOAM_JOB_* and LOAM_RELAY_* from the environment apply (e.g. LOAM_JOB_CONCURRENCY=16).
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^LOAM_(JOB|RELAY)_/.test(k)));
  const config = loadConfig(env, { dataDir, logLevel: 'silent', adminApiKey: ADMIN, rateLimitEnabled: false, port: 0 });
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${app.server.address().port}`;
  if (history > 0) await addHistory(loam, history);
  loam.startBackground({ workers: config.jobConcurrency, relay: true });
  const db = loam.platform.database.db;
  const load0 = loadavg()[0];
  const profiler = await startProfile();
  const threads0 = threadCpu();
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  let accepted = 0;
  const http = await load(`${url}/ingest/text`, ADMIN).then((r) => {
    accepted = performance.now();
    return r;
  });
  if (http.non2xx > 0) throw new Error(`ingest answered ${http.non2xx} non-2xx responses`);
  await allCompleted(db, started);
  const done = performance.now();
  const cpuUsage = process.cpuUsage(cpu0);
  const cpu = cpuMs(cpuUsage);
  const threads = Object.fromEntries(
    Object.entries(threadCpu())
      .map(([k, v]) => [k, Math.round(((v - (threads0[k] ?? 0)) / TEXTS) * 100) / 100])
      .filter(([, v]) => v > 0),
  );
  await profiler?.stop();
  const ctx = {
    tenantId: 'default',
    principal: { tenantId: 'default', subject: 'bench', kind: 'api_key', roles: ['admin'], scopes: ['*'] },
    requestId: 'bench',
    ip: '127.0.0.1',
  };
  const hits = await loam.services.content.searchText(ctx, 'lighthouse ferry', 5);
  if (hits.length === 0) throw new Error('search found nothing after ingestion');
  await loam.close(5000);
  rmSync(dataDir, { recursive: true, force: true });
  return {
    items: TEXTS,
    jobConcurrency: config.jobConcurrency,
    completed_per_s: Math.round(TEXTS / ((done - started) / 1000)),
    accepted_per_s: Math.round(TEXTS / ((accepted - started) / 1000)),
    p99_accept_ms: http.p99,
    // CPU time of the server process (HTTP, jobs, relay, the language-detection thread; the load
    // generator runs in another process): less sensitive than wall time to a shared machine.
    cpu_ms_per_item: Math.round((cpu / TEXTS) * 100) / 100,
    items_per_cpu_s: Math.round(TEXTS / (cpu / 1000)),
    system_cpu_share: Math.round((cpuUsage.system / (cpuUsage.user + cpuUsage.system)) * 100) / 100,
    cpu_ms_per_item_by_thread: threads,
    load_avg: Math.round(((load0 + loadavg()[0]) / 2) * 10) / 10,
  };
}

/**
 * A database with a past, like that of an instance that has been running for a while: `n` events
 * in the outbox (two per ingested item), all already delivered (every subscriber's cursor at the
 * last one).
 */
async function addHistory(loam, n) {
  const { events, database } = loam.platform;
  await events.deliverPending(); // creates every subscriber's cursor
  const now = Date.now();
  await database.db.transaction().execute((tx) =>
    database.dialect.bulkInsert(tx, {
      table: 'outbox_events',
      constants: { tenant_id: 'default', time: now, data: '{}' },
      columns: { id: 'text', type: 'text', source: 'text', subject: 'text' },
      rows: Array.from({ length: n }, (_, i) => i),
      values: (i) => {
        const subject = `cnt_past${Math.floor(i / 2)}`;
        return [`evt_past${i}`, i % 2 ? 'io.loam.content.processed' : 'io.loam.content.created', `/${subject}`, subject];
      },
    }),
  );
  await database.db
    .updateTable('outbox_cursors')
    .set((eb) => ({ seq: eb.selectFrom('outbox_events').select(eb.fn.max('seq').as('m')) }))
    .execute();
}

// Baseline: bare Fastify + one SQLite insert per request, same client load.
async function baselineOnce() {
  const baseDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-base-'));
  const sqlite = new Database(join(baseDir, 'base.db'));
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.exec('create table texts (id integer primary key, body text not null)');
  const insert = sqlite.prepare('insert into texts (body) values (?)');
  const bare = Fastify();
  bare.post('/ingest/text', async (req) => ({ id: Number(insert.run(req.body.content).lastInsertRowid) }));
  await bare.listen({ port: 0, host: '127.0.0.1' });
  const cpu0 = process.cpuUsage();
  const b0 = performance.now();
  await load(`http://127.0.0.1:${bare.server.address().port}/ingest/text`);
  const b1 = performance.now();
  const cpu = cpuMs(process.cpuUsage(cpu0));
  await bare.close();
  sqlite.close();
  rmSync(baseDir, { recursive: true, force: true });
  return {
    per_s: Math.round(TEXTS / ((b1 - b0) / 1000)),
    cpu_ms_per_item: Math.round((cpu / TEXTS) * 100) / 100,
    items_per_cpu_s: Math.round(TEXTS / (cpu / 1000)),
  };
}

const HISTORY = Number(process.env.BENCH_HISTORY ?? 100_000);
{
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const summary = (runs) => ({
    ...runs.at(-1),
    runs: runs.length,
    completed_per_s: median(runs.map((r) => r.completed_per_s)),
    completed_per_s_range: [Math.min(...runs.map((r) => r.completed_per_s)), Math.max(...runs.map((r) => r.completed_per_s))],
    accepted_per_s: median(runs.map((r) => r.accepted_per_s)),
    items_per_cpu_s: median(runs.map((r) => r.items_per_cpu_s)),
    cpu_ms_per_item: median(runs.map((r) => r.cpu_ms_per_item)),
  });
  const fresh = [];
  const aged = [];
  for (let k = 0; k < Number(process.env.BENCH_RUNS ?? 1); k++) {
    for (const [runs, history] of HISTORY > 0
      ? [
          [fresh, 0],
          [aged, HISTORY],
        ]
      : [[fresh, 0]]) {
      runs.push(await ingestOnce(history));
      if (!json) {
        const r = runs.at(-1);
        console.error(
          `  run ${k + 1}${history ? `, ${history} past events` : ', fresh database'}: ${r.completed_per_s} items/s end to end, ${r.items_per_cpu_s} items per server CPU-second (${r.cpu_ms_per_item} CPU ms/item), HTTP accepted ${r.accepted_per_s}/s, load ${r.load_avg}; by thread ${JSON.stringify(r.cpu_ms_per_item_by_thread)}, ${Math.round(r.system_cpu_share * 100)} % system time`,
        );
      }
    }
  }
  const base = await baselineOnce();
  results.ingest = {
    ...summary(fresh),
    baseline_bare_insert_per_s: base.per_s,
    baseline_cpu_ms_per_item: base.cpu_ms_per_item,
    baseline_items_per_cpu_s: base.items_per_cpu_s,
  };
  if (aged.length) results.ingest_history = { past_events: HISTORY, ...summary(aged) };
}

// 1b. The same, split: this process serves HTTP only, a second process (like `loam worker`) runs
// the jobs and the relay, so the two cores both work. Scale-out runs on PostgreSQL
// (BENCH_POSTGRES_URL, a server URL: a scratch database is created and dropped).
const PG = process.env.BENCH_POSTGRES_URL;
const ingestOnly = process.argv.includes('--ingest-only');
if (PG && !ingestOnly) {
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
  const http = await load(`http://127.0.0.1:${app.server.address().port}/ingest/text`, ADMIN);
  const accepted = performance.now();
  if (http.non2xx > 0) throw new Error(`ingest answered ${http.non2xx} non-2xx responses`);
  await allCompleted(db, started);
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
if (!ingestOnly) {
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
if (!ingestOnly) {
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
  const range = r.ingest.runs > 1 ? `, median of ${r.ingest.runs} runs, range ${r.ingest.completed_per_s_range.join('–')}` : '';
  console.log(
    `inline text → COMPLETED: ${r.ingest.completed_per_s} items/s end to end (${r.ingest.items} items, ${r.ingest.jobConcurrency} job workers${range}; HTTP accepted ${r.ingest.accepted_per_s}/s, p99 ${r.ingest.p99_accept_ms} ms); ${r.ingest.items_per_cpu_s} items per server CPU-second (${r.ingest.cpu_ms_per_item} CPU ms/item) | baseline bare Fastify + SQLite insert ${r.ingest.baseline_bare_insert_per_s}/s (${r.ingest.baseline_items_per_cpu_s} per CPU-second, ${r.ingest.baseline_cpu_ms_per_item} CPU ms/item)`,
  );
  if (r.ingest_history) {
    const h = r.ingest_history;
    const hr = h.runs > 1 ? `, median of ${h.runs} runs, range ${h.completed_per_s_range.join('–')}` : '';
    console.log(
      `inline text → COMPLETED with ${h.past_events} past events in the outbox: ${h.completed_per_s} items/s end to end (${h.items} items${hr}; HTTP accepted ${h.accepted_per_s}/s); ${h.items_per_cpu_s} items per server CPU-second (${h.cpu_ms_per_item} CPU ms/item)`,
    );
  }
  if (r.ingest_split)
    console.log(
      `inline text → COMPLETED, PostgreSQL, HTTP process + worker process: ${r.ingest_split.completed_per_s} items/s end to end (HTTP accepted ${r.ingest_split.accepted_per_s}/s)`,
    );
  if (r.html)
    console.log(
      `HTML extraction (${r.html.doc_kb} KB page): ${r.html.docs_per_s} docs/s, ${r.html.mb_per_s} MB/s | baseline Readability on linkedom ${r.html.baseline_readability.docs_per_s} docs/s, linkedom parse alone ${r.html.baseline_linkedom_parse.docs_per_s} docs/s`,
    );
  if (r.pdf)
    console.log(
      `PDF extraction (${r.pdf.pages} pages, ${r.pdf.doc_kb} KB): ${r.pdf.docs_per_s} docs/s, ${r.pdf.mb_per_s} MB/s | baseline unpdf alone ${r.pdf.baseline_unpdf_extract.docs_per_s} docs/s`,
    );
  if (r.presign)
    console.log(
      `presign: ${r.presign.req_per_s} req/s (p99 ${r.presign.p99_ms} ms) | baseline GET /healthz ${r.presign.baseline_healthz_req_per_s} req/s`,
    );
}
