#!/usr/bin/env node
/**
 * Start-up: time from spawning `npm start` (what the README says to run) to the first `/readyz`
 * 200, and the server's idle resident memory (RSS) two seconds after that. Measured on a fresh
 * data directory (first start: migrations, default tenant, admin key) and on a restart of the same
 * directory. Median of BENCH_RUNS runs (default 5). Targets (issue 2): ≤ 1.5 s, ≤ 100 MB.
 * Same-run comparisons: the built `loam serve` run by node directly (what `npm start` runs, without
 * npm), a bare Fastify process, and the restart with V8's defaults kept while starting (what the
 * CLI's start-up heuristics save; see packages/cli/src/index.ts). CPU time with npm includes npm's.
 *
 * Run: node bench/startup.bench.mjs   (--json for a machine-readable line)
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { LOAM_BIN, ROOT, cpuSecondsOf, freePort, median, rssOf, sleep, startLoam, table } from './common.mjs';

/** Spawns `node <args>` and resolves once http://127.0.0.1:<port>/readyz answers 200. */
async function startProcess(args, port, env = {}) {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: 'ignore' });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited ${child.exitCode}`);
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  return { child, readyMs: performance.now() - t0, readyCpuSec: cpuSecondsOf(child.pid) };
}

/** The baseline: a bare Fastify hello-world process, spawned and polled the same way. */
async function startBare() {
  const port = await freePort();
  const code = `const F=(await import('fastify')).default;const a=F();a.get('/readyz',async()=>({status:'ready'}));await a.listen({host:'127.0.0.1',port:${port}});`;
  return startProcess(['--input-type=module', '-e', code], port);
}

/**
 * `loam serve` on a migrated data directory with V8's defaults kept while it starts: the two
 * heuristics the CLI holds back during start-up (young-generation growth, TurboFan) given
 * explicitly, which the CLI leaves alone. Shows what holding them saves, in the same run.
 */
async function startWithV8Defaults(dataDir) {
  const port = await freePort();
  const args = ['--semi-space-growth-factor=2', '--turbofan', LOAM_BIN, 'serve'];
  return startProcess(args, port, { LOAM_DATA_DIR: dataDir, LOAM_PORT: String(port), LOAM_LOG_LEVEL: 'warn' });
}

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const npmFresh = { ready: [], cpu: [], rss: [] };
const npmRestart = { ready: [], cpu: [], rss: [] };
const fresh = { ready: [], cpu: [], rss: [] };
const restart = { ready: [], cpu: [], rss: [] };
const bare = { ready: [], cpu: [], rss: [] };
const defaults = { ready: [], cpu: [], rss: [] };
/** Records a started Loam's figures two seconds after it is ready, then stops it (keeping its data). */
async function record(m, loam) {
  await sleep(2000);
  m.ready.push(loam.readyMs);
  m.cpu.push(loam.readyCpuSec ?? Number.NaN);
  m.rss.push(rssOf(loam.pid) ?? Number.NaN);
  await loam.stop({ keepData: true });
  return loam.dataDir;
}
const ADMIN = { LOAM_ADMIN_API_KEY: 'loam_sk_bench_startup_admin_0123456789abcdef' };
for (let i = 0; i < RUNS; i++) {
  const b = await startBare();
  await sleep(2000);
  bare.ready.push(b.readyMs);
  bare.cpu.push(b.readyCpuSec ?? Number.NaN);
  bare.rss.push(rssOf(b.child.pid) ?? Number.NaN);
  b.child.kill('SIGTERM');
  const npmDir = await record(npmFresh, await startLoam(ADMIN, undefined, { npm: true }));
  await record(npmRestart, await startLoam({}, npmDir, { npm: true }));
  rmSync(npmDir, { recursive: true, force: true });
  const dir = await record(fresh, await startLoam(ADMIN));
  await record(restart, await startLoam({}, dir));
  const v8 = await startWithV8Defaults(dir);
  await sleep(2000);
  defaults.ready.push(v8.readyMs);
  defaults.cpu.push(v8.readyCpuSec ?? Number.NaN);
  defaults.rss.push(rssOf(v8.child.pid) ?? Number.NaN);
  const exited = new Promise((r) => v8.child.once('exit', r));
  v8.child.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
const mb = (b) => (b / 1024 / 1024).toFixed(1);
const row = (start, m) => ({
  start,
  'spawn→/readyz ms (median)': Math.round(median(m.ready)),
  'min ms': Math.round(Math.min(...m.ready)),
  'max ms': Math.round(Math.max(...m.ready)),
  'CPU ms to ready (median)': Math.round(median(m.cpu) * 1000),
  'idle RSS MB (median)': mb(median(m.rss)),
});
const rows = [
  row('npm start, first (empty data dir)', npmFresh),
  row('npm start, restart (migrated)', npmRestart),
  row('node directly, first', fresh),
  row('node directly, restart', restart),
  row('restart, V8 defaults while starting', defaults),
  row('bare Fastify (baseline)', bare),
];
console.log(`Start-up: ${RUNS} runs each, SQLite, Node ${process.version}, load average ${os.loadavg()[0].toFixed(1)}`);
console.log(table(rows));
if (process.argv.includes('--json')) console.log(JSON.stringify({ bench: 'startup', rows }));
