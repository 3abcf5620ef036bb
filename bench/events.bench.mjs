#!/usr/bin/env node
/**
 * Events and webhooks (#15) on the built `loam serve` (SQLite, rate limits off):
 * - deliveries/s: N events replayed to one endpoint whose local receiver answers at once, against
 *   the same receiver hit by plain concurrent POSTs from this process (the baseline, same run),
 *   and the server's CPU time per delivery (load-independent: what one free core would sustain);
 * - lag: p50/p99 from an event's commit (its `time`) to its arrival at the receiver while events
 *   are created at ~500/s (POST /prompts, one event each);
 * - memory: the server's RSS growth per idle SSE connection of /api/v1/events/stream.
 *
 * Run: npm run build && node bench/events.bench.mjs   (BENCH_BIN, another build's loam.mjs; BENCH_EVENTS, default 3000; BENCH_RATE,
 *      default 500; BENCH_SECONDS, default 5; BENCH_STREAMS, default 1000; BENCH_NODE_ARGS, e.g.
 *      "--cpu-prof --cpu-prof-dir=/tmp/prof", flags for the server's node)
 */
import { createServer } from 'node:http';
import os from 'node:os';
import { cpuSecondsOf, rssOf, sleep, startLoam, table } from './common.mjs';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 3000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const STREAMS = Number(process.env.BENCH_STREAMS ?? 1000);
const ADMIN_KEY = 'loam_sk_bench_events_admin_key_0123456789abcdefg';
const headers = { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' };

/** A receiver answering 204 at once; records each arrival. */
async function receiver() {
  const arrivals = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      arrivals.push({ at: Date.now(), body: Buffer.concat(chunks).toString() });
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { arrivals, url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}

const api = async (url, method, path, body) => {
  const h = body === undefined ? { 'x-api-key': ADMIN_KEY } : headers;
  const r = await fetch(url + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
};

let datasetId;
/** One `record.created` event: a record inserted into the bench dataset. */
const createPrompt = (url, i) => api(url, 'POST', `/api/v1/datasets/${datasetId}/records`, [{ data: { n: i } }]);

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function baseline(rx, n, concurrency) {
  const body = JSON.stringify({ specversion: '1.0', type: 'io.loam.prompt.created', data: { id: 'x' } });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        const r = await fetch(`${rx.url}/baseline`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await r.arrayBuffer();
      }
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function main() {
  const rx = await receiver();
  const loam = await startLoam(
    {
      LOAM_ADMIN_API_KEY: ADMIN_KEY,
      LOAM_RATE_LIMIT_ENABLED: 'false',
      LOAM_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      LOAM_JOB_CONCURRENCY: '16',
      LOAM_WEBHOOK_CONCURRENCY: '16',
      LOAM_JOB_POLL_MS: '20',
      LOAM_RELAY_POLL_MS: '20',
      LOAM_GRPC_PORT: '0',
    },
    undefined,
    // Another build to compare with, e.g. BENCH_BIN=/path/to/other/packages/cli/dist/loam.mjs.
    process.env.BENCH_BIN ? { bin: process.env.BENCH_BIN } : {},
  );
  const rows = [];
  try {
    datasetId = (await api(loam.url, 'POST', '/api/v1/datasets', { name: 'bench', schema: { fields: [{ name: 'n', type: 'integer' }] } }))
      .data.id;
    // 1. Throughput: EVENTS events first, then one replay makes EVENTS deliveries at once.
    const since = new Date(Date.now() - 1000).toISOString();
    for (let i = 0; i < EVENTS; i += 50)
      await Promise.all(Array.from({ length: Math.min(50, EVENTS - i) }, (_, j) => createPrompt(loam.url, i + j)));
    const hook = (await api(loam.url, 'POST', '/api/v1/webhooks', { url: `${rx.url}/replay`, events: ['record.created'] })).data;
    const t0 = Date.now();
    const cpu0 = cpuSecondsOf(loam.pid);
    await api(loam.url, 'POST', `/api/v1/webhooks/${hook.id}/replay`, { since });
    while (rx.arrivals.filter((a) => a.at >= t0).length < EVENTS && Date.now() - t0 < 120_000) await sleep(20);
    const got = rx.arrivals.filter((a) => a.at >= t0);
    const perSec = got.length / ((got.at(-1).at - t0) / 1000);
    // The server's CPU per delivery: what a core of its own would sustain, whatever the load.
    const cpuPer = (cpuSecondsOf(loam.pid) - cpu0) / got.length;
    const base = await baseline(rx, EVENTS, 16);
    rows.push({
      measure: `deliveries/s (${EVENTS} replayed, 16 in flight)`,
      loam: perSec.toFixed(0),
      baseline: `${base.toFixed(0)} plain POSTs/s`,
      ratio: (perSec / base).toFixed(2),
    });
    rows.push({
      measure: 'server CPU per delivery (replay, recording included)',
      loam: `${(cpuPer * 1000).toFixed(3)} ms`,
      baseline: `${(1 / cpuPer).toFixed(0)} deliveries per CPU-second`,
      ratio: '',
    });
    await api(loam.url, 'DELETE', `/api/v1/webhooks/${hook.id}`);

    // 2. Lag at RATE events/s.
    await api(loam.url, 'POST', '/api/v1/webhooks', { url: `${rx.url}/lag`, events: ['record.created'] });
    rx.arrivals.length = 0;
    const total = RATE * SECONDS;
    const start = performance.now();
    const pending = new Set();
    for (let i = 0; i < total; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      // At most 64 requests in flight: a server slower than RATE lowers the achieved rate instead.
      while (pending.size >= 64) await Promise.race(pending);
      const p = createPrompt(loam.url, EVENTS + i).finally(() => pending.delete(p));
      pending.add(p);
    }
    await Promise.all(pending);
    const achieved = total / ((performance.now() - start) / 1000);
    const deadline = Date.now() + 60_000;
    while (rx.arrivals.length < total && Date.now() < deadline) await sleep(20);
    const lags = rx.arrivals.map((a) => a.at - Date.parse(JSON.parse(a.body).time));
    rows.push({
      measure: `commit→delivery lag at ${achieved.toFixed(0)} events/s`,
      loam: `p50 ${pct(lags, 50)} ms, p99 ${pct(lags, 99)} ms`,
      baseline: `${rx.arrivals.length}/${total} delivered`,
      ratio: '',
    });

    // 3. Memory of idle SSE connections.
    await sleep(500);
    const before = rssOf(loam.pid);
    const controllers = [];
    for (let i = 0; i < STREAMS; i++) {
      const c = new AbortController();
      controllers.push(c);
      const r = await fetch(`${loam.url}/api/v1/events/stream?type=bench.none`, { headers, signal: c.signal });
      r.body
        .getReader()
        .read()
        .catch(() => {});
    }
    await sleep(1000);
    const after = rssOf(loam.pid);
    rows.push({
      measure: `RSS per idle SSE connection (${STREAMS})`,
      loam: `${((after - before) / STREAMS / 1024).toFixed(1)} KiB`,
      baseline: `RSS ${(before / 1048576).toFixed(0)} → ${(after / 1048576).toFixed(0)} MiB`,
      ratio: '',
    });
    for (const c of controllers) c.abort();
  } finally {
    await loam.stop();
    rx.close();
  }
  console.log(
    `load: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (${os.cpus().length} cores)`,
  );
  console.log(table(rows));
}

await main();
