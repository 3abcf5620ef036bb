#!/usr/bin/env node
/**
 * `npm run bench:cluster-scaling [-- --duration 30 --concurrency 16 --cpus 0.5]`: the same request
 * mix against one Loam replica and against two behind HAProxy, each replica pinned to one core with
 * `taskset` (replica 1 on core 0, replica 2 on core 1), or with `--cpus` limited to that many
 * cores' time by a cgroup CPU quota (needs root and cgroup v1's `cpu` controller). Reports requests per second and p99 of
 * each, with the load average during the run (the machine may be shared: read the figures with it).
 * The mix: prompt renders, dataset queries and bus sends (PostgreSQL-backed, rate limits off).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sleep, table } from '../common.mjs';
import { ensureDir, freshDatabase, migrate, replica, startHaproxy, stopAll } from './procs.mjs';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '16' },
    heap: { type: 'string', default: '192' },
    // Each replica limited to this many cores' time (a cgroup CPU quota) instead of pinned to a
    // core: on a machine with fewer cores than replicas plus PostgreSQL, HAProxy and the clients,
    // pinning gives each replica a core the others also run on.
    cpus: { type: 'string' },
  },
});
const cpus = args.cpus === undefined ? undefined : Number(args.cpus);
if (cpus !== undefined && !(cpus > 0)) throw new Error('--cpus: a positive number of cores');
/** How replica `n` (0, 1) is limited, and what the table calls it. */
const limit = (n) => (cpus === undefined ? { taskset: n } : { cpus });
const where = (n) => (cpus === undefined ? `core${n > 0 ? 's 0, 1' : ' 0'}` : `${cpus} CPU each`);
const ADMIN_KEY = `loam_sk_scaling_${Date.now().toString(36)}_0123456789abcdefghij`;
const pgUrl = process.env.CLUSTER_POSTGRES_URL ?? process.env.LOAM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};

const dir = mkdtempSync(join(os.tmpdir(), 'loam-scaling-'));
const db = await freshDatabase(pgUrl);
const procs = [];
try {
  const env = {
    LOAM_DATABASE_URL: db.url,
    LOAM_DATA_DIR: ensureDir(join(dir, 'data')),
    LOAM_SECRET_KEY: 'scaling-test-secret-key-0123456789abcdef',
    LOAM_ADMIN_API_KEY: ADMIN_KEY,
    LOAM_MIGRATE: 'false',
    LOAM_RATE_LIMIT_ENABLED: 'false',
    LOAM_LOG_LEVEL: 'warn',
    LOAM_JOB_CONCURRENCY: '1',
  };
  const flags = [`--max-old-space-size=${args.heap}`];
  await migrate(env, flags);
  const a = await replica('loam-1', env, flags, limit(0));
  await a.start();
  procs.push(a.proc);
  const target = await prepare(a.url);
  const rows = [];
  const lb1 = await startHaproxy(ensureDir(join(dir, 'one')), [a]);
  procs.push(lb1);
  rows.push(await measure(`1 replica (${where(0)})`, lb1.url, target));
  lb1.child.kill('SIGTERM');
  const b = await replica('loam-2', env, flags, limit(1));
  await b.start();
  procs.push(b.proc);
  const lb2 = await startHaproxy(ensureDir(join(dir, 'two')), [a, b]);
  procs.push(lb2);
  rows.push(await measure(`2 replicas (${where(1)})`, lb2.url, target));
  const ratio = Number.parseFloat(rows[1]['req/s']) / Number.parseFloat(rows[0]['req/s']);
  console.log(
    `\nLoam throughput scaling, ${args.duration} s per run, ${args.concurrency} concurrent clients (${os.cpus().length} cores)\n`,
  );
  console.log(table(rows));
  console.log(`\ntwo replicas / one: ${ratio.toFixed(2)}× (target ≥ 1.7×)`);
} finally {
  stopAll(procs);
  await sleep(500);
  await db.drop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);

async function prepare(url) {
  const headers = { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY };
  const post = async (path, body) => (await fetch(`${url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) })).json();
  const prompt = (await post('/prompts', { name: 'scaling', template: 'Hello {{who}}, {{what}}.' })).prompt.id;
  const dataset = (await post('/api/v1/datasets', { name: 'scaling', schema: { fields: [{ name: 'k', type: 'integer' }] } })).data.id;
  await post(`/api/v1/datasets/${dataset}/records`, {
    request_id: 'seed',
    data: Array.from({ length: 500 }, (_, i) => ({ id: `r${i}`, data: { k: i % 50 } })),
  });
  await post(`/api/v1/datasets/${dataset}/indexes`, { field: 'k' });
  return { headers, prompt, dataset };
}

async function measure(label, lb, { headers, prompt, dataset }) {
  const mix = [
    () => [`/prompts/${prompt}/render`, { variables: { who: 'you', what: 'hi' } }],
    () => [`/api/v1/datasets/${dataset}/records/query`, { filter: { k: Math.floor(Math.random() * 50) }, limit: 20 }],
    () => [`/api/v1/sessions/scaling:${Math.floor(Math.random() * 8)}/messages`, { data: { n: 1 } }],
  ];
  // Warm-up (JIT, caches, connections), then the timed run.
  const run = async (ms, lat) => {
    let n = 0;
    let errors = 0;
    const until = performance.now() + ms;
    await Promise.all(
      Array.from({ length: Number(args.concurrency) }, async (_, c) => {
        for (let i = c; performance.now() < until; i++) {
          const [path, body] = mix[i % mix.length]();
          const t = performance.now();
          const r = await fetch(`${lb}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }).catch(() => undefined);
          await r?.arrayBuffer();
          if (!r || r.status >= 300) errors++;
          lat?.push(performance.now() - t);
          n++;
        }
      }),
    );
    return { n, errors };
  };
  await run(5000);
  const atStart = os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  const load = [];
  const sampler = setInterval(() => load.push(os.loadavg()[0]), 1000);
  const lat = [];
  const t0 = performance.now();
  const { n, errors } = await run(Number(args.duration) * 1000, lat);
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  return {
    setup: label,
    requests: n,
    errors,
    'req/s': (n / secs).toFixed(1),
    'p50 ms': pct(lat, 50).toFixed(1),
    'p99 ms': pct(lat, 99).toFixed(1),
    'load avg (1/5/15 min) at start': atStart,
    'load avg (1 min) during': `${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)}`,
  };
}
