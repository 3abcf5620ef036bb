#!/usr/bin/env node
/**
 * HTTP overhead of the platform: `GET /healthz` (public, no database) and `GET /api/v1/whoami`
 * (API-key authentication: a SHA-256 and one indexed SELECT, then the /api/v1 envelope) on the
 * built `loam serve` (SQLite, rate limits off: this measures the work, not the limiter), against a
 * bare Fastify hello-world answering the same JSON, measured in the same run. Each server is its
 * own process; autocannon drives them from this one. Rounds alternate Loam and the baseline so
 * both see the same (shared, noisy) machine; the table shows the median round.
 *
 * Run: node bench/http.bench.mjs   (BENCH_DURATION seconds per run, default 5; BENCH_ROUNDS,
 *      default 3; BENCH_CONNECTIONS, default 10; --json for a machine-readable line)
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import { cpuSecondsOf, median, startLoam, table } from './common.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ADMIN_KEY = 'loam_sk_bench_http_admin_key_0123456789abcdefgh';

if (process.argv[2] === '--serve-bare') await serveBare();
else await main();

/** The baseline: Fastify with no plugins, answering what Loam answers. */
async function serveBare() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/api/v1/whoami', async (request) => ({
    request_id: String(request.id),
    timestamp: new Date().toISOString(),
    status: 'success',
    data: { tenant_id: 'default', subject: 'key_x', kind: 'api_key', scopes: ['*'], roles: ['admin'], credential_id: 'key_x' },
    metadata: { version: 'v1' },
    links: { self: '/api/v1/whoami' },
  }));
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

/**
 * Drives `url` and reports req/s, latency and req/CPU-s: requests per CPU-second the server
 * process spent, which on a shared machine (where no process gets a whole core) is the figure
 * that compares with a per-core target.
 */
async function load(url, headers = {}, pid) {
  const cpu0 = cpuSecondsOf(pid);
  const r = await autocannon({ url, connections: CONNECTIONS, duration: DURATION, headers });
  const cpu = cpuSecondsOf(pid) - cpu0;
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, perCpu: r.requests.total / cpu };
}

async function main() {
  const loam = await startLoam({ LOAM_RATE_LIMIT_ENABLED: 'false', LOAM_ADMIN_API_KEY: ADMIN_KEY, LOAM_JOB_CONCURRENCY: '0' });
  const bare = await startBare();
  const auth = { 'x-api-key': ADMIN_KEY };
  // Sanity: both answer what we think they answer.
  const who = await (await fetch(`${loam.url}/api/v1/whoami`, { headers: auth })).json();
  if (who.data?.kind !== 'api_key') throw new Error(`unexpected whoami: ${JSON.stringify(who)}`);
  const cases = [
    { name: 'GET /healthz', path: '/healthz', headers: {} },
    { name: 'GET /api/v1/whoami (API key)', path: '/api/v1/whoami', headers: auth },
  ];
  const results = cases.map(() => ({ loam: [], bare: [] }));
  try {
    // Warm-up (JIT, connection pools), not measured.
    for (const c of cases) {
      await autocannon({ url: loam.url + c.path, connections: CONNECTIONS, duration: 1, headers: c.headers });
      await autocannon({ url: bare.url + c.path, connections: CONNECTIONS, duration: 1, headers: c.headers });
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of cases.entries()) {
        results[i].loam.push(await load(loam.url + c.path, c.headers, loam.child.pid));
        results[i].bare.push(await load(bare.url + c.path, c.headers, bare.child.pid));
      }
    }
  } finally {
    bare.child.disconnect();
    await loam.stop();
  }
  const rows = cases.map((c, i) => {
    const pick = (runs, k) => median(runs.map((r) => r[k]));
    const loamRps = pick(results[i].loam, 'rps');
    const bareRps = pick(results[i].bare, 'rps');
    return {
      route: c.name,
      'loam req/s': Math.round(loamRps),
      'loam p50 ms': pick(results[i].loam, 'p50'),
      'loam p99 ms': pick(results[i].loam, 'p99'),
      'bare req/s': Math.round(bareRps),
      'bare p50 ms': pick(results[i].bare, 'p50'),
      'bare p99 ms': pick(results[i].bare, 'p99'),
      'loam/bare': (loamRps / bareRps).toFixed(2),
      'loam req/CPU-s': Math.round(pick(results[i].loam, 'perCpu')),
      'bare req/CPU-s': Math.round(pick(results[i].bare, 'perCpu')),
      'loam/bare per CPU-s': (pick(results[i].loam, 'perCpu') / pick(results[i].bare, 'perCpu')).toFixed(2),
    };
  });
  console.log(
    `HTTP: ${CONNECTIONS} connections, ${DURATION} s × ${ROUNDS} rounds (median), Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`,
  );
  console.log(table(rows));
  if (process.argv.includes('--json')) console.log(JSON.stringify({ bench: 'http', rows }));
}
