#!/usr/bin/env node
/**
 * Identity benchmark: client-credentials grants/s, authenticated GET /auth/me req/s against a
 * bare Fastify route answering the same JSON (measured in the same run), and password logins/s.
 *
 * Each server runs in its own child process (one event loop, i.e. one core for JavaScript;
 * argon2 runs on libuv's thread pool) and autocannon drives it from this process.
 * Rate limits are switched off in the server under test (LOAM_RATE_LIMIT_ENABLED=false):
 * the benchmark measures the work, not the limiter. Database: SQLite in a temp directory.
 *
 * Rounds alternate Loam and the baseline so both see the same (shared, noisy) machine.
 *
 * Run: node bench/identity.bench.mjs   (add --json for a machine-readable line;
 *      BENCH_DURATION=seconds per run, default 5; BENCH_ROUNDS, default 3)
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const role = process.argv[2];

if (role === '--serve-loam') await serveLoam();
else if (role === '--serve-bare') await serveBare();
else await main();

async function serveLoam() {
  const { register } = await import('tsx/esm/api');
  // tsconfig.test.json maps @loam/* to the sources, so the benchmark needs no build.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.test.json', import.meta.url)) });
  const { createLoam } = await import('../packages/server/src/app.ts');
  const { loadConfig } = await import('../packages/server/src/config.ts');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-identity-'));
  const config = loadConfig(
    {},
    { dataDir, logLevel: 'silent', rateLimitEnabled: false, adminApiKey: 'loam_sk_bench_admin_0123456789abcdefghij', port: 0 },
  );
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  const { identity } = loam.services;
  const admin = { tenantId: 'default', subject: 'bench', kind: 'api_key', roles: ['admin', 'platform_admin'], scopes: ['*'] };
  const cred = await identity.credentials.create(
    { tenantId: 'default', principal: admin, requestId: 'bench', ip: '127.0.0.1' },
    { issued_to: 'bench', scopes: ['storage', 'ai'] },
  );
  const password = 'bench password 123';
  await identity.users.signup({ email: 'bench@example.com', password }, { ip: '127.0.0.1' });
  await loam.platform.database.db.updateTable('users').set({ status: 'confirmed' }).where('email', '=', 'bench@example.com').execute();
  const session = await identity.users.login('bench@example.com', password, { ip: '127.0.0.1' });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({
    port: app.server.address().port,
    clientId: cred.client_id,
    clientSecret: cred.client_secret,
    password,
    accessToken: session.access_token,
  });
  answerCpuProbes();
  process.on('disconnect', async () => {
    await loam.close(1000);
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

async function serveBare() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  const body = {
    username: 'bench@example.com',
    attributes: { email: 'bench@example.com', email_verified: 'true', sub: 'usr_01JBENCH', tenant_id: 'default' },
  };
  app.get('/auth/me', async () => body);
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ port: app.server.address().port });
  answerCpuProbes();
  process.on('disconnect', () => process.exit(0));
}

/** The server reports its CPU time (all threads: the event loop and libuv's pool) when asked. */
function answerCpuProbes() {
  process.on('message', (m) => {
    if (m === 'cpu') process.send({ cpu: process.cpuUsage() });
  });
}

function cpuOf(server) {
  return new Promise((resolve) => {
    const onMessage = (m) => {
      if (m?.cpu) {
        server.child.off('message', onMessage);
        resolve((m.cpu.user + m.cpu.system) / 1e6);
      }
    };
    server.child.on('message', onMessage);
    server.child.send('cpu');
  });
}

function startServer(flag) {
  const child = fork(fileURLToPath(import.meta.url), [flag], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (info) => resolve({ child, info }));
    child.once('exit', (code) => reject(new Error(`${flag} exited with ${code}`)));
  });
}

/**
 * Drives `server` with autocannon. Besides req/s it reports requests per CPU-second of the
 * server process: on a shared machine a process rarely gets a whole core, and this is the
 * figure that compares with "per core" targets.
 */
async function load(autocannon, server, opts) {
  const cpuBefore = await cpuOf(server);
  const result = await autocannon({ connections: 10, duration: Number(process.env.BENCH_DURATION ?? 5), ...opts });
  const cpuSeconds = (await cpuOf(server)) - cpuBefore;
  const errors = result.non2xx + result.errors + result.timeouts;
  if (errors > 0) throw new Error(`${opts.title}: ${errors} failed requests (non-2xx ${result.non2xx}, errors ${result.errors})`);
  return {
    rps: Math.round(result.requests.average),
    perCpuSecond: Math.round(result.requests.total / cpuSeconds),
    p99ms: result.latency.p99,
  };
}

function median(runs) {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)];
}

async function main() {
  const { default: autocannon } = await import('autocannon');
  const json = process.argv.includes('--json');
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const loam = await startServer('--serve-loam');
  const bare = await startServer('--serve-bare');
  const base = `http://127.0.0.1:${loam.info.port}`;
  const runs = { grants: [], me: [], healthz: [], bareMe: [], logins: [] };
  try {
    // Rounds alternate between Loam and the bare baseline so both see the same machine load
    // (these machines are shared and noisy); each figure is the median of its rounds.
    for (let round = 0; round < rounds; round++) {
      runs.bareMe.push(
        await load(autocannon, bare, { title: 'bare Fastify GET /auth/me', url: `http://127.0.0.1:${bare.info.port}/auth/me` }),
      );
      runs.me.push(
        await load(autocannon, loam, {
          title: 'GET /auth/me',
          url: `${base}/auth/me`,
          headers: { authorization: `Bearer ${loam.info.accessToken}` },
        }),
      );
      runs.healthz.push(await load(autocannon, loam, { title: 'GET /healthz', url: `${base}/healthz` }));
      runs.grants.push(
        await load(autocannon, loam, {
          title: 'client_credentials grant',
          url: `${base}/auth/token`,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grant_type: 'client_credentials', client_id: loam.info.clientId, client_secret: loam.info.clientSecret }),
        }),
      );
    }
    runs.logins.push(
      await load(autocannon, loam, {
        title: 'password login',
        url: `${base}/auth/login`,
        method: 'POST',
        connections: 4,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'bench@example.com', password: loam.info.password }),
      }),
    );
  } finally {
    loam.child.disconnect();
    bare.child.disconnect();
  }
  const results = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  const ratios = runs.me.map((m, i) => m.rps / runs.bareMe[i].rps).sort((a, b) => a - b);
  const ratio = ratios[Math.floor(ratios.length / 2)];
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`;
  if (json) {
    console.log(JSON.stringify({ bench: 'identity', machine, ...results, meVsBare: Math.round(ratio * 1000) / 1000 }));
    return;
  }
  console.log(`identity benchmark — ${machine}; ${rounds} rounds, medians`);
  console.table({
    'client_credentials grants': {
      'req/s': results.grants.rps,
      'req/CPU-s': results.grants.perCpuSecond,
      'p99 ms': results.grants.p99ms,
      target: '≥ 1,200/s per core',
    },
    'GET /auth/me (Bearer JWT)': {
      'req/s': results.me.rps,
      'req/CPU-s': results.me.perCpuSecond,
      'p99 ms': results.me.p99ms,
      target: '≥ 60% of bare',
    },
    'bare Fastify GET (baseline)': {
      'req/s': results.bareMe.rps,
      'req/CPU-s': results.bareMe.perCpuSecond,
      'p99 ms': results.bareMe.p99ms,
      target: '',
    },
    'Loam GET /healthz (no auth)': {
      'req/s': results.healthz.rps,
      'req/CPU-s': results.healthz.perCpuSecond,
      'p99 ms': results.healthz.p99ms,
      target: 'platform floor',
    },
    'password logins (argon2id)': {
      'req/s': results.logins.rps,
      'req/CPU-s': results.logins.perCpuSecond,
      'p99 ms': results.logins.p99ms,
      target: '',
    },
  });
  console.log(`GET /healthz at ${((results.healthz.rps / results.bareMe.rps) * 100).toFixed(1)}% of bare Fastify (median rounds)`);
  console.log(
    `GET /auth/me at ${(ratio * 100).toFixed(1)}% of bare Fastify (median of per-round ratios: ${ratios.map((r) => (r * 100).toFixed(0)).join(', ')} %)`,
  );
}
