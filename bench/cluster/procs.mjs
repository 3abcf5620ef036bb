/**
 * The processes of the cluster test: a fresh PostgreSQL database, an S3 server (s3rver), HAProxy,
 * `loam migrate`, Loam API replicas and a `loam worker`, each a child process of this one.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, LOAM_BIN, ROOT, rssOf, sleep } from '../common.mjs';

/** A database of its own on the machine's PostgreSQL; dropped by `drop()`. */
export async function freshDatabase(adminUrl) {
  const name = `loam_cluster_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/** Empties the Redis database the rate limiters of this run use (a database index of its own). */
export async function flushRedis(url) {
  const { default: Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  await r.flushdb();
  r.disconnect();
}

function track(child, name) {
  let log = '';
  const keep = (d) => {
    log = (log + d).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, name, log: () => log };
}

export async function waitFor(what, check, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${what} did not come up within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

/** s3rver in a child process, with the bucket `loam`. */
export async function startS3(dir) {
  const port = await freePort();
  const code = `
    const S3rver = require('s3rver');
    new S3rver({ port: ${port}, address: '127.0.0.1', silent: true, directory: ${JSON.stringify(dir)},
      configureBuckets: [{ name: 'loam' }] }).run().then(() => console.log('s3 ready'));`;
  const p = track(spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }), 's3rver');
  await waitFor('s3rver', () => p.log().includes('s3 ready'));
  return { ...p, url: `http://127.0.0.1:${port}` };
}

/** The HAProxy binary, installed from Debian when missing (the machine's package manager). */
export function haproxyBinary() {
  for (const b of ['/usr/sbin/haproxy', '/usr/bin/haproxy']) if (existsSync(b)) return b;
  throw new Error('haproxy is not installed (apt-get install -y haproxy)');
}

/** HAProxy in front of `servers` ({name, port}), health-checking GET /readyz every second. */
export async function startHaproxy(dir, servers) {
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 2m
  timeout server 2m
  timeout tunnel 1h
  retries 2
  option redispatch 1
  retry-on conn-failure
frontend http
  bind 127.0.0.1:${port}
  default_backend loam
backend loam
  balance leastconn
  option httpchk GET /readyz
  http-check expect status 200
  http-response set-header x-served-by %s
  # A loaded machine answers /readyz slowly at times: three failed checks in a row take a replica
  # out; a refused connection (a killed replica) takes it out at once.
  timeout check 5s
  default-server check inter 2s fall 3 rise 2 observe layer4 error-limit 1 on-error mark-down
${servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`).join('\n')}
`,
  );
  execFileSync(haproxyBinary(), ['-c', '-q', '-f', cfg]);
  const p = track(spawn(haproxyBinary(), ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] }), 'haproxy');
  // When HAProxy took each server out of rotation (it says so on stderr in foreground mode).
  const down = [];
  p.child.stderr.on('data', (d) => {
    for (const m of String(d).matchAll(/Server loam\/(\S+) is DOWN/g)) down.push({ name: m[1], at: performance.now() });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('haproxy', async () => (await fetch(`${url}/readyz`)).status === 200);
  return { ...p, url, down };
}

/**
 * Runs `loam <command>` with the cluster's environment (node flags first: the heap limit).
 * `taskset`: the core to pin it to. `cpus`: the CPU time it may use, in cores (a cgroup v1 CPU
 * quota of its own, e.g. 0.5: half of one core, over any cores).
 */
export function loam(command, env, nodeFlags, { taskset, cpus } = {}) {
  const args = [...nodeFlags, LOAM_BIN, command];
  const [cmd, argv] = taskset === undefined ? [process.execPath, args] : ['taskset', ['-c', String(taskset), process.execPath, ...args]];
  const p = track(spawn(cmd, argv, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }), command);
  if (cpus !== undefined) cpuQuota(p.child, cpus);
  return p;
}

/** Puts `child` into a cgroup (v1 `cpu` controller) of its own that may use `cpus` cores' time; removed when it exits. */
function cpuQuota(child, cpus) {
  const group = join(CPU_CGROUP, `loam-bench-${process.pid}-${child.pid}`);
  mkdirSync(group);
  writeFileSync(join(group, 'cpu.cfs_period_us'), '100000');
  writeFileSync(join(group, 'cpu.cfs_quota_us'), String(Math.round(cpus * 100_000)));
  writeFileSync(join(group, 'cgroup.procs'), String(child.pid));
  child.once('exit', () => setTimeout(() => rmdirSync(group), 200));
}
const CPU_CGROUP = '/sys/fs/cgroup/cpu';

export async function migrate(env, nodeFlags) {
  const p = loam('migrate', env, nodeFlags);
  const code = await new Promise((r) => p.child.once('exit', r));
  if (code !== 0) throw new Error(`loam migrate exited ${code}: ${p.log()}`);
}

/** An API replica on its own port; `start()` again after a kill brings it back on the same port. */
export async function replica(name, env, nodeFlags, opts = {}) {
  const port = await freePort();
  // Each replica's gRPC listener on a port of its own (one host; in containers each has 9090).
  const grpcPort = await freePort();
  const r = {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    proc: undefined,
    peakRss: 0,
    async start() {
      this.proc = loam('serve', { ...env, LOAM_PORT: String(port), LOAM_GRPC_PORT: String(grpcPort) }, nodeFlags, opts);
      await waitFor(`${name}`, async () => {
        if (this.proc.child.exitCode !== null) throw Object.assign(new Error(`${name} exited: ${this.proc.log()}`), { fatal: true });
        return (await fetch(`${this.url}/readyz`)).status === 200;
      });
    },
  };
  return r;
}

/** Samples the RSS of every running process of `members` every 200 ms; the peak per member. */
export function sampleRss(members) {
  const timer = setInterval(() => {
    for (const m of members) {
      const pid = m.proc?.child.pid;
      const rss = pid && m.proc.child.exitCode === null ? rssOf(pid) : undefined;
      if (rss && rss > m.peakRss) m.peakRss = rss;
    }
  }, 200);
  return () => clearInterval(timer);
}

/** SIGTERM to every child process still running; `close()` for in-process servers. */
export function stopAll(procs) {
  for (const p of procs) {
    if (p?.child && p.child.exitCode === null) p.child.kill('SIGTERM');
    p?.close?.();
  }
}

export function ensureDir(dir) {
  mkdirSync(dir, { recursive: true });
  return dir;
}
