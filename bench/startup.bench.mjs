#!/usr/bin/env node
/**
 * Start-up: time from spawning the built `loam serve` (what `npm start` runs) to the first
 * `/readyz` 200, and the idle resident memory (RSS) two seconds after that. Measured on a fresh
 * data directory (first start: migrations, default tenant, admin key) and on a restart of the same
 * directory. Median of BENCH_RUNS runs (default 5). Targets (issue 2): ≤ 1.5 s, ≤ 100 MB.
 *
 * Run: node bench/startup.bench.mjs   (--json for a machine-readable line)
 */
import { median, rssOf, sleep, startLoam, table } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const fresh = { ready: [], rss: [] };
const restart = { ready: [], rss: [] };
for (let i = 0; i < RUNS; i++) {
  const first = await startLoam({ LOAM_ADMIN_API_KEY: 'loam_sk_bench_startup_admin_0123456789abcdef' });
  await sleep(2000);
  fresh.ready.push(first.readyMs);
  fresh.rss.push(rssOf(first.child.pid) ?? Number.NaN);
  await first.stop({ keepData: true });
  const again = await startLoam({}, first.dataDir);
  await sleep(2000);
  restart.ready.push(again.readyMs);
  restart.rss.push(rssOf(again.child.pid) ?? Number.NaN);
  await again.stop();
}
const mb = (b) => (b / 1024 / 1024).toFixed(1);
const rows = [
  {
    start: 'first (empty data dir)',
    'spawn→/readyz ms (median)': Math.round(median(fresh.ready)),
    'min ms': Math.round(Math.min(...fresh.ready)),
    'max ms': Math.round(Math.max(...fresh.ready)),
    'idle RSS MB (median)': mb(median(fresh.rss)),
  },
  {
    start: 'restart (migrated)',
    'spawn→/readyz ms (median)': Math.round(median(restart.ready)),
    'min ms': Math.round(Math.min(...restart.ready)),
    'max ms': Math.round(Math.max(...restart.ready)),
    'idle RSS MB (median)': mb(median(restart.rss)),
  },
];
console.log(`Start-up: ${RUNS} runs each, SQLite, Node ${process.version}`);
console.log(table(rows));
if (process.argv.includes('--json')) console.log(JSON.stringify({ bench: 'startup', rows }));
