#!/usr/bin/env node
/**
 * Observatory (#18) on the built `loam serve` (SQLite, rate limits off):
 * - ingest: log records/s through `POST /api/v1/logs` in batches of 1,000 (autocannon, 4
 *   connections), against a bare Fastify that parses the same body and inserts the 1,000 rows
 *   into a SQLite table of the same shape with better-sqlite3 (one prepared statement, one
 *   transaction), measured in the same run. Target ≥ 50,000 records/s.
 * - tracing: `GET /auth/me` (authenticated by API key) requests/s of the default server (tracing
 *   code present, no OTEL_EXPORTER_OTLP_ENDPOINT) against the same server built without its
 *   tracing code (the bundle rebuilt with `platform/tracing.js` replaced by bench/tracing-absent.mjs),
 *   and with tracing on (an endpoint that accepts and drops the spans); the three servers run side
 *   by side and rounds alternate between them (BENCH_ROUNDS, default 6). Target: the default ≤ 3 %
 *   below the build without tracing code. BENCH_TRACING_AA=1 runs the default build in place of
 *   the variant (an A/A control: what the same build measures against itself).
 *
 * Run: npm run build && node bench/observatory.bench.mjs   (BENCH_DURATION s per run, default 5;
 *      --json for a machine-readable line)
 */
import { fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { ROOT, cpuSecondsOf, median, startLoam, table } from './common.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const ADMIN_KEY = 'loam_sk_bench_logs_admin_key_0123456789abcdefghij';
const BATCH = 1000;
const BODY = JSON.stringify({
  records: Array.from({ length: BATCH }, (_, i) => ({
    level: ['debug', 'info', 'warn', 'error'][i % 4],
    message: `step ${i} of the benchmark finished in ${i % 97} ms`,
    attributes: { step: i, region: i % 2 ? 'eu' : 'us' },
  })),
});

if (process.argv[2] === '--serve-bare') await serveBare();
else await main();

/** Fastify + better-sqlite3: parse the batch, insert its rows in one transaction. */
async function serveBare() {
  const { default: Fastify } = await import('fastify');
  const { default: SQLite } = await import('better-sqlite3');
  const db = new SQLite(join(mkdtempSync(join(os.tmpdir(), 'loam-bench-bare-')), 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`create table log_records (seq integer primary key autoincrement, tenant_id text not null, time integer not null,
    severity integer not null, message text not null, attributes text not null, execution_id text, session_id text,
    workflow_id text, trace_id text, span_id text, source text not null, kind text not null, batch text not null);
    create index log_records_time on log_records (tenant_id, time, seq);
    create index log_records_execution on log_records (tenant_id, execution_id, time);`);
  const stmt = db.prepare(
    'insert into log_records (tenant_id, time, severity, message, attributes, execution_id, source, kind, batch) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insert = db.transaction((records, exec) => {
    const now = Date.now();
    for (const r of records) stmt.run('default', now, 9, r.message, JSON.stringify(r.attributes ?? {}), exec, 'api', 'log', 'b');
  });
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024 });
  app.post('/api/v1/logs', async (req, reply) => {
    insert(req.body.records, req.headers['x-loam-execution-id'] ?? null);
    return reply.code(202).send({ status: 'success', data: { accepted: req.body.records.length } });
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ url: `http://127.0.0.1:${app.server.address().port}` });
  process.on('disconnect', () => process.exit(0));
}

function startBare() {
  return new Promise((res, rej) => {
    const child = fork(new URL(import.meta.url).pathname, ['--serve-bare'], { stdio: 'inherit' });
    child.once('message', (m) => res({ url: m.url, child }));
    child.once('exit', (code) => rej(new Error(`bare server exited ${code}`)));
  });
}

async function ingest(url, duration = DURATION) {
  let n = 0;
  const r = await autocannon({
    url: `${url}/api/v1/logs`,
    method: 'POST',
    connections: 4,
    duration,
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    // Every request its own execution, as many concurrent executions would ship.
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'x-loam-execution-id': `bench-${n++}` }, body: BODY }) }],
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, records: r.requests.average * BATCH, p99: r.latency.p99 };
}

/**
 * One round of `GET /auth/me` (the caller, authenticated by API key) on a server: req/s, and
 * requests per CPU-second of the server process (on a loaded machine a server rarely gets a
 * whole core; its CPU time per request is the figure load disturbs least).
 */
async function authMe(server) {
  const cpu0 = cpuSecondsOf(server.pid);
  const r = await autocannon({ url: `${server.url}/auth/me`, connections: 10, duration: DURATION, headers: { 'x-api-key': ADMIN_KEY } });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${server.url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, perCpu: r.requests.total / (cpuSecondsOf(server.pid) - cpu0) };
}

/**
 * The bundle built again with `platform/tracing.js` replaced by bench/tracing-absent.mjs: the
 * same server without its tracing code (no OpenTelemetry API loaded, no span or trace-id work).
 */
async function buildWithoutTracing() {
  const { bundle } = await import('../scripts/bundle.mjs');
  const stub = fileURLToPath(new URL('./tracing-absent.mjs', import.meta.url));
  await bundle({
    name: 'loam-no-tracing',
    plugins: [
      {
        name: 'tracing-absent',
        setup(b) {
          b.onResolve({ filter: /\/tracing\.js$/ }, (args) =>
            args.importer.includes('/server/dist/platform/') ? { path: stub } : undefined,
          );
        },
      },
    ],
  });
  return join(ROOT, 'packages/cli/dist/loam-no-tracing.mjs');
}

/** An OTLP/HTTP endpoint that answers 200 to everything (spans accepted and dropped). */
function startSink() {
  return new Promise((res) => {
    const srv = createServer((req, resp) => {
      req.resume();
      req.on('end', () => resp.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    });
    srv.listen(0, '127.0.0.1', () => res({ url: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() }));
  });
}

async function main() {
  const env = {
    LOAM_RATE_LIMIT_ENABLED: 'false',
    LOAM_ADMIN_API_KEY: ADMIN_KEY,
    LOAM_JOB_CONCURRENCY: '0',
    LOAM_LOG_QUOTA_PER_MINUTE: '1000000000',
  };
  const rows = [];
  const loam = await startLoam(env);
  const bare = await startBare();
  try {
    await ingest(loam.url, 1);
    await ingest(bare.url, 1);
    const l = await ingest(loam.url);
    const b = await ingest(bare.url);
    rows.push({
      ingest: 'loam POST /api/v1/logs',
      'records/s': Math.round(l.records),
      'req/s': l.rps.toFixed(1),
      'p99 ms': l.p99,
      'vs bare': `${((l.records / b.records) * 100).toFixed(0)} %`,
    });
    rows.push({
      ingest: 'bare fastify + better-sqlite3',
      'records/s': Math.round(b.records),
      'req/s': b.rps.toFixed(1),
      'p99 ms': b.p99,
      'vs bare': '100 %',
    });
  } finally {
    bare.child.kill();
    await loam.stop();
  }

  // Tracing overhead: the default server (tracing code present, no exporter), the same server
  // built without its tracing code, and (for scale) tracing on against an OTLP sink that drops
  // the spans. All three run together; rounds alternate between them so machine load drifts
  // over all alike, and each figure is the median of its rounds.
  const sink = await startSink();
  // BENCH_TRACING_AA=1: an A/A control, the default build in both places, to see the noise floor.
  const absentBin = process.env.BENCH_TRACING_AA === '1' ? undefined : await buildWithoutTracing();
  const servers = {};
  const runs = { off: [], absent: [], on: [] };
  const loads = [];
  try {
    // Started one by one inside the try: a server that fails to start stops the ones before it.
    servers.off = await startLoam(env);
    servers.absent = await startLoam(env, undefined, absentBin ? { bin: absentBin } : {});
    servers.on = await startLoam({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_SERVICE_NAME: 'loam-bench' });
    for (const s of Object.values(servers)) await authMe(s); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      loads.push(os.loadavg()[0]);
      for (const k of round % 2 ? ['absent', 'off', 'on'] : ['off', 'absent', 'on']) runs[k].push(await authMe(servers[k]));
    }
  } finally {
    for (const s of Object.values(servers)) await s.stop();
    sink.close();
  }
  // Each round's figure over the same round's build without tracing code, then the median of those ratios.
  const vs = (k, f) => median(runs[k].map((r, i) => r[f] / runs.absent[i][f] - 1)) * 100;
  const label = { absent: 'no tracing code (variant build)', off: 'tracing present, no exporter (default)', on: 'tracing on (OTLP sink)' };
  const trace = ['absent', 'off', 'on'].map((k) => ({
    'GET /auth/me': label[k],
    'req/s': Math.round(median(runs[k].map((r) => r.rps))),
    'req/s vs none': `${vs(k, 'rps').toFixed(1)} %`,
    'req/CPU-s': Math.round(median(runs[k].map((r) => r.perCpu))),
    'req/CPU-s vs none': `${vs(k, 'perCpu').toFixed(1)} %`,
  }));
  console.log(
    `Observatory: Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)} (during the tracing rounds: ${loads.map((l) => l.toFixed(1)).join(' ')})`,
  );
  console.log(table(rows));
  console.log(table(trace));
  if (process.argv.includes('--json')) console.log(JSON.stringify({ bench: 'observatory', rows, trace, loads }));
}
