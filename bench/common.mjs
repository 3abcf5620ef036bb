/** Helpers shared by the platform benchmarks: free ports, a spawned `loam serve`, readiness. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** What `npm start` and the `loam` bin run: the built bundle (`npm run build`). */
export const LOAM_BIN = join(ROOT, 'packages/cli/bin/loam.mjs');

/** Extra node flags for the servers benchmarks start (e.g. BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'). */
const NODE_ARGS = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system, all threads) a process has used so far (Linux /proc; 10 ms ticks). */
export function cpuSecondsOf(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** A process and all its descendants (Linux /proc; just the process elsewhere). */
function processTree(pid) {
  let children = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone, or not Linux
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Whether a process still runs (Linux /proc): exists and is not a zombie waiting to be reaped. */
function running(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
  } catch {
    return false;
  }
}

/** Resident set size of a process in bytes (Linux /proc; undefined elsewhere). */
export function rssOf(pid) {
  try {
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Spawns the built `loam serve` on a free port with a fresh SQLite data directory (unless one is
 * given) and resolves once /readyz answers 200, with the time that took from spawn. With
 * `{ npm: true }` it runs `npm start` instead, as the README says to (npm, its shell, then the server);
 * `{ bin }` runs another build of the bundle.
 */
export async function startLoam(env = {}, dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-')), { npm = false, bin = LOAM_BIN } = {}) {
  const port = await freePort();
  const t0 = performance.now();
  const options = {
    cwd: ROOT,
    // gRPC on any free port: several servers (or other users of 9090) side by side.
    env: { ...process.env, LOAM_DATA_DIR: dataDir, LOAM_PORT: String(port), LOAM_GRPC_PORT: '0', LOAM_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', process.env.BENCH_SERVER_STDOUT ? 'inherit' : 'ignore', 'pipe'],
    detached: npm, // its own process group, signalled as a terminal's Ctrl-C signals npm and the server
  };
  const child = npm ? spawn('npm', ['start'], options) : spawn(process.execPath, [...NODE_ARGS, bin, 'serve'], options);
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`loam serve exited ${child.exitCode}: ${stderr}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(10);
  }
  const readyMs = performance.now() - t0;
  const tree = processTree(child.pid);
  const readyCpuSec = tree.reduce((sum, p) => sum + (cpuSecondsOf(p) ?? Number.NaN), 0);
  /** The server process: the child itself, or the last of npm's descendants. */
  const pid = tree.at(-1);
  return {
    url,
    child,
    pid,
    dataDir,
    readyMs,
    /** CPU time the process (with npm: and npm's) used up to its first /readyz 200 (load-independent, unlike readyMs). */
    readyCpuSec,
    stderr: () => stderr,
    async stop({ keepData = false } = {}) {
      const exited = new Promise((r) => child.once('exit', r));
      if (npm) process.kill(-child.pid, 'SIGTERM');
      else child.kill('SIGTERM');
      await exited;
      // npm may exit before the server has shut down (a restart must not race it for the data)
      while (running(pid)) await sleep(10);
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function table(rows) {
  const cols = Object.keys(rows[0]);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(r[c]).length)));
  const line = (vals) => vals.map((v, i) => String(v).padStart(width[i])).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => r[c])))].join('\n');
}
