#!/usr/bin/env node
/**
 * Datasets benchmark, each number against a baseline measured in the same run (SQLite, one process):
 *
 * 1. Bulk insert: records/s through the HTTP API (POST …/records, 10,000 records per call) vs raw
 *    better-sqlite3 inserts of the same records into a table of the same shape and indexes (rows of
 *    the same size: same-length dataset id, a 64-character hash value), one
 *    transaction per 10,000 with a prepared statement (target ≥ 50 % of raw). The two alternate
 *    batch by batch over the first 100,000 records so that both see the same machine load, after
 *    one untimed warm-up batch on each side. A 10,000-record body is parsed, validated and
 *    prepared on the server's worker thread while its event loop inserts; the same records sent in
 *    the request envelope are parsed inline (a third row, for comparison). CPU figures are the
 *    server process's, all threads. The dataset has no PII classification; another row
 *    measures inserts into one whose `email` is PII (encrypted at rest).
 * 2. Query: first page (100) of a filtered query over BENCH_RECORDS (default 1,000,000) records,
 *    with an index on the field and no total count, through HTTP: p50/p95 (target p50 ≤ 10 ms) vs
 *    the same compiled SQL run directly on better-sqlite3.
 * 3. Export: MB/s of an NDJSON export job of the whole dataset vs raw better-sqlite3 iteration
 *    writing the same NDJSON to a file.
 *
 * Run: node bench/datasets.bench.mjs   (BENCH_RECORDS=200000 for a quicker run; --json for one line)
 *
 * BENCH_DATABASE_URL=postgres://…/postgres runs the server on PostgreSQL instead (a fresh database
 * is created on that server and dropped afterwards). The raw baselines stay better-sqlite3 for the
 * inserts, the query's is the same SQL on a raw `pg` connection, the export's is skipped.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const { createLoam } = await import('../packages/server/src/app.ts');
const { loadConfig } = await import('../packages/server/src/config.ts');
const { default: Database } = await import('better-sqlite3');

const ADMIN_KEY = 'loam_sk_bench_admin_key_0123456789abcdefghijkl';
const PG_URL = process.env.BENCH_DATABASE_URL ?? '';
const TOTAL = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const BATCH = 10_000;
const INSERT_SAMPLE = 100_000; // the insert comparison: the first 100k records on both sides
const CATEGORIES = 1000;
const QUERIES = 300;

const cities = ['Oslo', 'Rome', 'Lima', 'Pune', 'Kyiv', 'Nice', 'Baku', 'Riga'];
const makeRecord = (i) => ({
  id: `r${String(i).padStart(8, '0')}`,
  data: {
    name: `user ${i}`,
    email: `user${i}@example.com`,
    age: 18 + (i % 60),
    score: ((i * 7919) % 1000) / 10,
    category: `c${(i * 2654435761) % CATEGORIES}`,
    active: i % 3 === 0,
    address: { city: cities[i % cities.length], zip: String(10000 + (i % 9000)) },
    tags: i % 2 ? ['a', 'b'] : ['c'],
  },
});
const batchOf = (start, n) => Array.from({ length: n }, (_, k) => makeRecord(start + k));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

// The server runs in its own process, as it would in production: the benchmark client's own work
// (serializing batches, reading answers) does not count against the API.
if (process.argv[2] === '--serve') {
  const dataDir = process.argv[3];
  const databaseUrl = process.argv[4] ?? '';
  const config = loadConfig(
    {},
    { dataDir, databaseUrl, logLevel: 'silent', rateLimitEnabled: false, bodyLimit: 64 * 1024 * 1024, adminApiKey: ADMIN_KEY },
  );
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  await app.listen({ port: 0, host: '127.0.0.1' });
  loam.startBackground({ workers: 1, relay: false });
  process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);
  // Each line on stdin asks for the server's CPU time so far (µs), answered as one JSON line.
  process.stdin.on('data', (d) => {
    for (const _ of String(d).trim().split('\n')) {
      const u = process.cpuUsage();
      process.stdout.write(`${JSON.stringify({ cpu: u.user + u.system })}\n`);
    }
  });
  process.stdin.on('end', async () => {
    await loam.close(5000);
    process.exit(0);
  });
} else {
  await main();
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'loam-bench-datasets-'));
  const pg = PG_URL ? await freshPostgres(PG_URL) : undefined;
  const server = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', join(dir, 'loam'), ...(pg ? [pg.url] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = [];
  const waiting = [];
  let buf = '';
  server.stdout.on('data', (d) => {
    buf += d;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = JSON.parse(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else lines.push(line);
      nl = buf.indexOf('\n');
    }
  });
  const nextLine = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiting.push(r)));
  server.on('exit', (code) => {
    if (code) console.error(`server exited with ${code}`);
  });
  const { port } = await nextLine();
  /** CPU time (ms) the server process has used so far. */
  const serverCpuMs = async () => {
    server.stdin.write('cpu\n');
    return (await nextLine()).cpu / 1000;
  };
  const base = `http://127.0.0.1:${port}`;
  const headers = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };
  const api = async (method, path, body) => {
    const r = await fetch(base + path, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await r.text();
    if (r.status >= 400) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  };

  const results = {
    machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
    records: TOTAL,
    database: pg ? 'postgres' : 'sqlite',
  };

  // ---- 1. bulk insert: API and raw baseline, batch by batch, interleaved so both see the same load ----
  const raw = new Database(join(dir, 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec(`create table dataset_records (row_id integer primary key autoincrement, tenant_id text not null, dataset_id text not null, id text not null,
  valid_from integer not null, valid_to integer, revision integer not null, data text not null, hash text not null, bytes integer not null,
  created_at bigint not null, updated_at bigint not null);
  create unique index live on dataset_records (dataset_id, id) where valid_to is null;
  create index hist on dataset_records (dataset_id, id, valid_from);`);
  const rawInsert = raw.prepare(
    'insert into dataset_records (tenant_id, dataset_id, id, valid_from, valid_to, revision, data, hash, bytes, created_at, updated_at) values (?, ?, ?, 1, null, 1, ?, ?, ?, ?, ?)',
  );
  // Rows of the same size as Loam's: a dataset id of the same length and a 64-character hash
  // column value (a constant: computing a content hash is Loam's work, not the baseline's).
  const RAW_DATASET = 'ds_raw_0123456789abcdefghijkl'; // as long as a Loam dataset id
  const RAW_HASH = 'f'.repeat(64);
  const rawBatch = raw.transaction((records, now) => {
    for (const r of records) {
      const text = JSON.stringify(r.data);
      rawInsert.run('default', RAW_DATASET, r.id, text, RAW_HASH, text.length, now, now);
    }
  });

  // The engine comparison uses a dataset without PII classifications (stored as given); what
  // encryption at rest of a PII field costs is measured on its own below.
  const fields = (pii) => [
    { name: 'name', type: 'string', required: true },
    { name: 'email', type: 'string', ...(pii ? { pii: 'email' } : {}) },
    { name: 'age', type: 'integer' },
    { name: 'score', type: 'number' },
    { name: 'category', type: 'string' },
    { name: 'active', type: 'boolean' },
    { name: 'address', type: 'object' },
    { name: 'tags', type: 'array' },
  ];
  const createDataset = async (name, pii) => (await api('POST', '/api/v1/datasets', { name, schema: { fields: fields(pii) } })).data.id;
  const ds = await createDataset('bench', false);
  // Steady state on both sides: one untimed batch first (JIT, lazily compiled schemas, caches).
  {
    const warm = batchOf(TOTAL, BATCH).map((r) => ({ ...r, id: `w${r.id}` }));
    rawBatch(warm, Date.now());
    const warmDs = await createDataset('warm-up', false);
    await api('POST', `/api/v1/datasets/${warmDs}/records`, JSON.stringify(warm));
    await api(
      'POST',
      `/api/v1/datasets/${warmDs}/records`,
      JSON.stringify({ request_id: 'warm', data: warm.map((r) => ({ ...r, id: `x${r.id}` })) }),
    );
  }
  // The same records sent in the request envelope (`{request_id, data}`) take the inline path: the
  // body is parsed on the event loop, then inserted (bodies that are a bare array of 64 KiB or more
  // are parsed, validated and prepared on a worker thread while the event loop inserts).
  const inlineDs = await createDataset('bench-inline', false);
  let insertMs = 0;
  let rawMs = 0;
  let insertCpuMs = 0;
  let rawCpuMs = 0;
  let inlineMs = 0;
  let inlineCpuMs = 0;
  const loadStart = performance.now();
  for (let s = 0; s < TOTAL; s += BATCH) {
    const records = batchOf(s, Math.min(BATCH, TOTAL - s));
    const body = JSON.stringify(records);
    if (s < INSERT_SAMPLE) {
      const c0 = process.cpuUsage();
      const r0 = performance.now();
      rawBatch(records, Date.now());
      rawMs += performance.now() - r0;
      const c = process.cpuUsage(c0);
      rawCpuMs += (c.user + c.system) / 1000;
      const s0 = await serverCpuMs();
      const t0 = performance.now();
      await api('POST', `/api/v1/datasets/${ds}/records`, body);
      insertMs += performance.now() - t0;
      insertCpuMs += (await serverCpuMs()) - s0;
      const envelope = JSON.stringify({ request_id: `bench-${s}`, data: records });
      const i0 = await serverCpuMs();
      const t1 = performance.now();
      await api('POST', `/api/v1/datasets/${inlineDs}/records`, envelope);
      inlineMs += performance.now() - t1;
      inlineCpuMs += (await serverCpuMs()) - i0;
    } else await api('POST', `/api/v1/datasets/${ds}/records`, body);
  }
  raw.close();
  const sample = Math.min(INSERT_SAMPLE, TOTAL);
  results.insertRawPerSec = sample / (rawMs / 1000);
  results.insertApiPerSec = sample / (insertMs / 1000);
  results.insertRatio = results.insertApiPerSec / results.insertRawPerSec;
  // CPU time per record: what the wall clock shows without the other processes on the machine.
  results.insertApiPerCpuSec = sample / (insertCpuMs / 1000);
  results.insertRawPerCpuSec = sample / (rawCpuMs / 1000);
  results.insertCpuRatio = results.insertApiPerCpuSec / results.insertRawPerCpuSec;
  results.insertInlinePerSec = sample / (inlineMs / 1000);
  results.insertInlineRatio = results.insertInlinePerSec / results.insertRawPerSec;
  results.insertInlinePerCpuSec = sample / (inlineCpuMs / 1000);
  results.loadSeconds = (performance.now() - loadStart) / 1000;

  // ---- 1b. the same inserts into a dataset whose `email` is classified PII (stored encrypted) ----
  {
    const pii = await createDataset('bench-pii', true);
    let ms = 0;
    let cpuMs = 0;
    const n = 3;
    for (let b = 0; b < n; b++) {
      const body = JSON.stringify(batchOf(b * BATCH, BATCH));
      const s0 = await serverCpuMs();
      const t0 = performance.now();
      await api('POST', `/api/v1/datasets/${pii}/records`, body);
      ms += performance.now() - t0;
      cpuMs += (await serverCpuMs()) - s0;
    }
    results.insertPiiPerSec = (n * BATCH) / (ms / 1000);
    results.insertPiiPerCpuSec = (n * BATCH) / (cpuMs / 1000);
  }

  // ---- 2. query: first page of a filtered query, with an index, no count ----
  const categories = Array.from({ length: QUERIES }, (_, i) => `c${(i * 37) % CATEGORIES}`);
  {
    // Without an index, for reference (a few queries only: each may scan).
    const t = [];
    for (const c of categories.slice(0, 5)) {
      const t0 = performance.now();
      await api('POST', `/api/v1/datasets/${ds}/records/query`, { filter: { category: c }, limit: 100 });
      t.push(performance.now() - t0);
    }
    results.queryNoIndexP50Ms = pct(t, 50);
  }
  const idxStart = performance.now();
  await api('POST', `/api/v1/datasets/${ds}/indexes`, { field: 'category' });
  results.indexBuildSeconds = (performance.now() - idxStart) / 1000;
  {
    for (const c of categories.slice(0, 20))
      await api('POST', `/api/v1/datasets/${ds}/records/query`, { filter: { category: c }, limit: 100 }); // warm-up
    const t = [];
    let rows = 0;
    for (const c of categories) {
      const t0 = performance.now();
      const r = await api('POST', `/api/v1/datasets/${ds}/records/query`, { filter: { category: c }, limit: 100 });
      t.push(performance.now() - t0);
      rows += r.data.length;
    }
    results.queryP50Ms = pct(t, 50);
    results.queryP95Ms = pct(t, 95);
    results.queryRowsPerPage = rows / categories.length;
  }
  if (pg) {
    // Baseline: the same SQL the API compiles for PostgreSQL, on a raw `pg` connection.
    const { default: pgLib } = await import('pg');
    const raw = new pgLib.Client({ connectionString: pg.url });
    await raw.connect();
    const query = `select id, data, revision, created_at, updated_at from dataset_records
    where tenant_id = $1 and dataset_id = $2 and valid_to is null and ((data #> '{category}') IS NOT NULL AND (data #> '{category}') = $3::jsonb)
    order by id asc limit 101`;
    const plan = await raw.query(`explain ${query}`, ['default', ds, JSON.stringify('c1')]);
    results.queryPlan = plan.rows.map((r) => r['QUERY PLAN'].trim()).join(' | ');
    const t = [];
    for (const c of categories) {
      const t0 = performance.now();
      await raw.query(query, ['default', ds, JSON.stringify(c)]);
      t.push(performance.now() - t0);
    }
    results.queryRawP50Ms = pct(t, 50);
    await raw.end();
  } else {
    // Baseline: the same SQL the API compiles, on a raw better-sqlite3 connection to the same file.
    const raw = new Database(join(dir, 'loam', 'loam.db'), { readonly: true });
    const stmt = raw.prepare(`select id, data, revision, created_at, updated_at from dataset_records
    where dataset_id = ? and valid_to is null and (json_type(data, '$.category') is 'text' and json_extract(data, '$.category') = ?)
    order by id asc limit 101`);
    const plan = raw
      .prepare(`explain query plan select id from dataset_records where dataset_id = ? and valid_to is null
    and (json_type(data, '$.category') is 'text' and json_extract(data, '$.category') = ?) order by id asc limit 101`)
      .all(ds, 'c1');
    results.queryPlan = plan.map((p) => p.detail).join(' | ');
    const t = [];
    for (const c of categories) {
      const t0 = performance.now();
      stmt.all(ds, c);
      t.push(performance.now() - t0);
    }
    results.queryRawP50Ms = pct(t, 50);
    raw.close();
  }

  // ---- 3. export ----
  {
    const t0 = performance.now();
    const started = await api('POST', `/api/v1/datasets/${ds}/records/export`, { format: 'ndjson' });
    let job;
    for (;;) {
      job = (await api('GET', `/api/v1/jobs/${started.data.id}`)).data;
      if (job.status === 'succeeded' || job.status === 'dead') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = performance.now() - t0;
    if (job.status !== 'succeeded') throw new Error(`export failed: ${job.last_error}`);
    const exp = (await api('GET', started.links.export)).data;
    results.exportBytes = exp.bytes;
    results.exportMBps = exp.bytes / 1e6 / (ms / 1000);

    if (pg) results.exportRawMBps = Number.NaN;
    else {
      const raw = new Database(join(dir, 'loam', 'loam.db'), { readonly: true });
      const file = join(dir, 'raw-export.ndjson');
      const fd = openSync(file, 'w');
      const r0 = performance.now();
      let buf = [];
      for (const row of raw
        .prepare('select id, data from dataset_records where dataset_id = ? and valid_to is null order by id')
        .iterate(ds)) {
        const data = JSON.parse(row.data);
        buf.push(`${JSON.stringify({ id: row.id, ...data })}\n`);
        if (buf.length >= 2000) {
          writeSync(fd, buf.join(''));
          buf = [];
        }
      }
      writeSync(fd, buf.join(''));
      closeSync(fd);
      const rawMs = performance.now() - r0;
      results.exportRawMBps = statSync(file).size / 1e6 / (rawMs / 1000);
      raw.close();
    }
    results.exportRatio = results.exportMBps / results.exportRawMBps;
  }

  server.stdin.end();
  await new Promise((r) => server.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
  await pg?.drop();

  if (process.argv.includes('--json')) console.log(JSON.stringify(results));
  else {
    console.log(
      `datasets benchmark (${results.database}) — ${results.machine.cores} cores, ${results.machine.cpu}, Node ${results.machine.node}, ${fmt(TOTAL)} records`,
    );
    console.log('| measure | Loam | baseline | ratio / target |');
    console.log('|---|---|---|---|');
    console.log(
      `| bulk insert (first ${fmt(INSERT_SAMPLE)}, 10k/call, HTTP) | ${fmt(results.insertApiPerSec)} rec/s | raw better-sqlite3, 1 tx/10k: ${fmt(results.insertRawPerSec)} rec/s | ${fmt(results.insertRatio * 100, 1)} % (target ≥ 50 %) |`,
    );
    console.log(
      `| bulk insert, CPU time (server process vs raw) | ${fmt(results.insertApiPerCpuSec)} rec/CPU-s | ${fmt(results.insertRawPerCpuSec)} rec/CPU-s | ${fmt(results.insertCpuRatio * 100, 1)} % |`,
    );
    console.log(
      `| same records in the request envelope (parsed inline on the event loop) | ${fmt(results.insertInlinePerSec)} rec/s, ${fmt(results.insertInlinePerCpuSec)} rec/CPU-s | raw, as above | ${fmt(results.insertInlineRatio * 100, 1)} % |`,
    );
    console.log(
      `| bulk insert into a dataset with one PII field (encrypted at rest), 3 × 10k | ${fmt(results.insertPiiPerSec)} rec/s, ${fmt(results.insertPiiPerCpuSec)} rec/CPU-s | the plaintext API rows above | ${fmt((results.insertPiiPerCpuSec / results.insertApiPerCpuSec) * 100, 1)} % of plaintext CPU throughput |`,
    );
    console.log(
      `| filtered query, first page of 100, indexed, no count (HTTP) | p50 ${fmt(results.queryP50Ms, 2)} ms, p95 ${fmt(results.queryP95Ms, 2)} ms | same SQL raw: p50 ${fmt(results.queryRawP50Ms, 2)} ms | target p50 ≤ 10 ms |`,
    );
    console.log(`| same query without the index (5 runs) | p50 ${fmt(results.queryNoIndexP50Ms, 1)} ms | | |`);
    console.log(
      `| NDJSON export job (${fmt(results.exportBytes / 1e6, 1)} MB) | ${fmt(results.exportMBps, 1)} MB/s | raw iterate + write: ${fmt(results.exportRawMBps, 1)} MB/s | ${fmt(results.exportRatio * 100, 1)} % |`,
    );
    console.log(
      `load of ${fmt(TOTAL)} records: ${fmt(results.loadSeconds, 1)} s; index build ${fmt(results.indexBuildSeconds, 1)} s; plan: ${results.queryPlan}`,
    );
  }
}

/** A new, empty database on the PostgreSQL server of `url`, and how to drop it. */
async function freshPostgres(url) {
  const { default: pgLib } = await import('pg');
  const name = `loam_bench_${Date.now()}`;
  const admin = new pgLib.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pgLib.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
