#!/usr/bin/env node
/**
 * `npm run test:cluster [-- --duration 60]`: PostgreSQL-backed Loam as two API replicas and one
 * `loam worker` behind HAProxy (health checks on /readyz), with the machine's Redis and NATS
 * JetStream and an S3 server (s3rver). A mixed workload runs for --duration seconds; in the middle
 * one replica is killed with SIGKILL and restarted. Afterwards every acknowledged write is read
 * back and the figures are printed as one table; the exit code is 1 when a check fails.
 *
 * Environment: CLUSTER_POSTGRES_URL (default LOAM_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres),
 * CLUSTER_REDIS_URL (default redis://127.0.0.1:6379/13 — that database is emptied first),
 * CLUSTER_NATS_URL (default LOAM_TEST_NATS_URL or nats://127.0.0.1:4222). docs/deploy.md explains it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sleep, table } from '../common.mjs';
import {
  ensureDir,
  flushRedis,
  freshDatabase,
  loam,
  migrate,
  replica,
  sampleRss,
  startHaproxy,
  startS3,
  stopAll,
  waitFor,
} from './procs.mjs';
import { events, webhookReceiver } from './events.mjs';
import { bus, KINDS, Recorder } from './workload.mjs';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '60' },
    clients: { type: 'string', default: '1' },
    heap: { type: 'string', default: '192' },
    keep: { type: 'boolean', default: false },
  },
});
const DURATION_MS = Number(args.duration) * 1000;
const CLIENTS = Number(args.clients);
const MULTIPLIER = 100;
const ADMIN_KEY = `loam_sk_cluster_${Date.now().toString(36)}_0123456789abcdefghij`;
const MiB = 1024 * 1024;
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : 0;
};

const pgUrl = process.env.CLUSTER_POSTGRES_URL ?? process.env.LOAM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.CLUSTER_REDIS_URL ?? 'redis://127.0.0.1:6379/13';
const natsUrl = process.env.CLUSTER_NATS_URL ?? process.env.LOAM_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

const dir = mkdtempSync(join(os.tmpdir(), 'loam-cluster-'));
const procs = [];
const db = await freshDatabase(pgUrl);
let exitCode = 1;
try {
  exitCode = await main();
} catch (err) {
  console.error(`cluster test failed to run: ${err.stack ?? err}`);
  for (const p of procs) if (p?.log) console.error(`--- ${p.name} (last output)\n${p.log().slice(-3000)}`);
} finally {
  stopAll(procs);
  await sleep(500);
  await db.drop().catch(() => {});
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
}
process.exit(exitCode);

async function main() {
  await flushRedis(redisUrl);
  const s3 = await startS3(ensureDir(join(dir, 's3')));
  procs.push(s3);
  const env = {
    LOAM_DATABASE_URL: db.url,
    LOAM_REDIS_URL: redisUrl,
    LOAM_NATS_URL: natsUrl,
    LOAM_BLOB_STORE: 's3',
    LOAM_S3_ENDPOINT: s3.url,
    LOAM_S3_BUCKET: 'loam',
    LOAM_S3_FORCE_PATH_STYLE: 'true',
    LOAM_S3_ACCESS_KEY_ID: 'S3RVER',
    LOAM_S3_SECRET_ACCESS_KEY: 'S3RVER',
    // master.key: one data directory for every process, as deploy/ shares it.
    LOAM_DATA_DIR: ensureDir(join(dir, 'data')),
    LOAM_SECRET_KEY: 'cluster-test-secret-key-0123456789abcdef',
    LOAM_ADMIN_API_KEY: ADMIN_KEY,
    LOAM_MIGRATE: 'false',
    LOAM_RATE_LIMIT_MULTIPLIER: String(MULTIPLIER),
    LOAM_JOB_LEASE_MS: '5000',
    LOAM_DATABASE_POOL_MAX: '5',
    LOAM_LOG_LEVEL: 'warn',
    // The webhook receiver of the test listens on 127.0.0.1.
    LOAM_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    // Two libuv threads: at most two Argon2id hashes (19 MiB each) at once, as deploy/ sets for a
    // 256 MiB replica (four by default, ~76 MiB of native memory at a burst of sign-ins).
    UV_THREADPOOL_SIZE: '2',
  };
  const nodeFlags = [`--max-old-space-size=${args.heap}`];
  await migrate(env, nodeFlags);
  // The API replicas serve HTTP and relay events; jobs (ingestion, with its extraction thread) run
  // in the worker, as deploy/ runs them: a replica's memory is its requests'.
  const api = { ...env, LOAM_JOB_CONCURRENCY: '0' };
  const replicas = [await replica('loam-a', api, nodeFlags), await replica('loam-b', api, nodeFlags)];
  await replicas[0].start(); // first: bootstraps the default tenant and the admin key
  procs.push(replicas[0].proc);
  await replicas[1].start();
  procs.push(replicas[1].proc);
  const worker = { name: 'worker', proc: loam('worker', env, nodeFlags), peakRss: 0 };
  procs.push(worker.proc);
  const lb = await startHaproxy(dir, replicas);
  procs.push(lb);
  const stopRss = sampleRss([...replicas, worker]);

  // The webhook receiver tells which of these processes made each request.
  const receiver = await webhookReceiver(() =>
    [...replicas, worker].map((m) => ({ pid: m.proc?.child.pid, name: m.name })).filter((c) => c.pid),
  );
  procs.push({ close: receiver.close });

  const rec = new Recorder();
  const ctx = await setup(rec, lb.url, replicas[0].url);
  let stop = false;
  ctx.stopping = () => stop;
  const busRun = bus(ctx);
  const eventsRun = await events(ctx, { receiver, since: new Date(Date.now() - 1000).toISOString(), victim: replicas[1].name });
  const loops = KINDS.flatMap((k) => Array.from({ length: CLIENTS }, (_, w) => k.loop({ ...ctx, worker: w })));
  const probe = rateLimitProbe(rec, lb.url);

  // The kill: SIGKILL to replica B at mid-run, restarted 5 s later on the same port.
  const t0 = performance.now();
  await sleep(DURATION_MS / 2);
  const victim = replicas[1];
  const killAt = performance.now();
  victim.proc.child.kill('SIGKILL');
  await new Promise((r) => victim.proc.child.once('exit', r));
  await sleep(5000);
  const restartAt = performance.now();
  await victim.start();
  procs.push(victim.proc);
  const backAt = performance.now();
  await waitFor(
    'haproxy sees the restarted replica',
    async () => rec.requests.some((q) => q.start > backAt && q.server === victim.name),
    30_000,
  ).catch(() => {});
  await sleep(Math.max(0, DURATION_MS - (performance.now() - t0)));
  stop = true;
  const runEnd = performance.now();
  await Promise.all(loops);
  const limit = await probe;
  ctx.drainMs = 60_000;

  // Afterwards: every acknowledged write read back through the load balancer, the kinds and the
  // bus at once; the events last (they include those of ingested items' processing).
  const took = [];
  const timed = async (name, check) => {
    const a = performance.now();
    const result = [await check()].flat();
    took.push(`${name} ${((performance.now() - a) / 1000).toFixed(1)} s`);
    return result;
  };
  const checks = (
    await Promise.all([
      ...KINDS.filter((k) => k.verify).map((k) => timed(k.name, () => k.verify({ ...ctx, rec }))),
      timed('bus', () => busRun.verify(15_000)),
    ])
  ).flat();
  checks.push(...(await timed('events', () => eventsRun.verify(30_000))));
  checks.push({ name: 'prompt renders carried their variables', value: `${ctx.acked.badRenders} wrong`, pass: ctx.acked.badRenders === 0 });
  checks.push(limit);
  stopRss();

  // Every request of the run, the rate-limit probe's too (its 429s are not failures).
  const work = rec.requests.filter((q) => q.start >= t0 && q.start < runEnd && q.kind !== 'verify');
  // The kill window: from the SIGKILL until HAProxy took the replica out of rotation. Requests
  // it sent to the dead replica meanwhile (or that were in flight there) are the expected failures.
  const downAt = lb.down.find((d) => d.name === victim.name && d.at >= killAt)?.at ?? killAt;
  const inFlight = (q) => q.start <= downAt && q.end >= killAt;
  const outside = work.filter((q) => !inFlight(q));
  const failedOutside = outside.filter((q) => !q.ok);
  const failedInFlight = work.filter((q) => inFlight(q) && !q.ok);
  const rate = failedOutside.length / Math.max(1, outside.length);
  const secs = (runEnd - t0) / 1000;
  const lat = work.filter((q) => q.ok).map((q) => q.end - q.start);
  checks.push({
    name: 'client errors outside the kill window (inside it)',
    value: `${failedOutside.length}/${outside.length} = ${(rate * 100).toFixed(3)} % (${failedInFlight.length})`,
    pass: rate < 0.001,
  });
  checks.push({
    name: 'throughput, p50 / p99 latency',
    value: `${(work.length / secs).toFixed(1)} req/s, ${pct(lat, 50).toFixed(0)} / ${pct(lat, 99).toFixed(0)} ms`,
    pass: true,
  });
  checks.push({
    name: 'replica killed',
    value: `SIGKILL at ${((killAt - t0) / 1000).toFixed(1)} s, out of rotation ${((downAt - killAt) / 1000).toFixed(2)} s later; restarted after ${((restartAt - killAt) / 1000).toFixed(1)} s, ready in ${((backAt - restartAt) / 1000).toFixed(1)} s`,
    pass: downAt > killAt, // HAProxy noticed
  });
  for (const m of [...replicas, worker]) {
    checks.push({
      name: `peak RSS ${m.name} (heap limit ${args.heap} MiB)`,
      value: `${(m.peakRss / MiB).toFixed(0)} MiB`,
      pass: m.peakRss > 0 && m.peakRss < 256 * MiB,
    });
  }
  const byKind = new Map();
  for (const q of work) byKind.set(q.kind, (byKind.get(q.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([k, n]) => `${k} ${n}`);

  console.log(
    `\nLoam cluster test: 2 API replicas + 1 worker behind HAProxy, ${secs.toFixed(0)} s, ${CLIENTS} clients per kind; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`requests: ${kinds.join(', ')}`);
  console.log(`kill window: ${((downAt - killAt) / 1000).toFixed(2)} s (SIGKILL until HAProxy marked ${victim.name} down)`);
  const s = (a, b) => ((b - a) / 1000).toFixed(1);
  console.log(
    `wall clock: start-up ${s(0, t0)} s, workload ${s(t0, runEnd)} s, checks ${s(runEnd, performance.now())} s (${took.join(', ')})\n`,
  );
  console.log(table(checks.map((c) => ({ check: c.name, value: c.value, result: c.pass ? 'ok' : 'FAIL' }))));
  if (failedOutside.length)
    console.log(
      '\nfailures outside the kill:',
      failedOutside
        .slice(0, 10)
        .map((q) => `${q.kind} ${q.status} ${q.detail} at ${((q.start - t0) / 1000).toFixed(1)} s`)
        .join(', '),
    );
  return checks.every((c) => c.pass) ? 0 : 1;
}

/** Users who sign in, a client credential, a dataset and a prompt; through replica A directly. */
async function setup(rec, lb, direct) {
  const admin = { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY };
  const post = async (path, body, base = direct) => {
    const r = await rec.call('setup', `${base}${path}`, { method: 'POST', headers: admin, body: JSON.stringify(body) });
    if (r.status >= 300) throw new Error(`setup: POST ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const run = Date.now().toString(36);
  const users = [];
  for (let i = 0; i < CLIENTS; i++) {
    const email = `cluster${i}.${run}@example.com`;
    const password = `cluster password ${run} ${i}`;
    await post('/auth/signup', { email, password });
    const mail = await rec.call('setup', `${direct}/api/v1/admin/mailbox?to=${encodeURIComponent(email)}&limit=1`, { headers: admin });
    const code = /\b(\d{6})\b/.exec(mail.body?.data?.[0]?.text ?? '')?.[1];
    await post('/auth/signup/confirm', { username: email, confirmation_code: code });
    users.push({ email, password });
  }
  const cred = await post('/admin/credentials', { issued_to: 'cluster-test', scopes: ['storage', 'ingest'] });
  const client = { id: cred.client_id, secret: cred.client_secret };
  let token;
  const grant = async () => {
    token = (
      await post('/auth/token', {
        grant_type: 'client_credentials',
        client_id: client.id,
        client_secret: client.secret,
        scope: 'storage ingest',
      })
    ).access_token;
  };
  await grant();
  const dataset = (
    await post('/api/v1/datasets', {
      name: `cluster-${run}`,
      schema: {
        fields: [
          { name: 'batch', type: 'string' },
          { name: 'i', type: 'integer' },
          { name: 'text', type: 'string' },
        ],
      },
    })
  ).data.id;
  await post(`/api/v1/datasets/${dataset}/indexes`, { field: 'batch' });
  const prompt = (await post('/prompts', { name: `cluster-${run}`, template: 'Hello {{who}}, from the cluster test.' })).prompt.id;
  return {
    rec,
    lb,
    run,
    users,
    client,
    token: () => token,
    adminKey: ADMIN_KEY,
    dataset,
    prompt,
    pace: 100,
    acked: { uploads: [], ingested: [], batches: [], badRenders: 0 },
  };
}

/**
 * One client drains the bucket of POST /auth/signup/resend (3 per 5 min × the multiplier, keyed
 * by client address: used by nothing else) through both replicas. A shared bucket lets through
 * capacity + refill × elapsed; one bucket per replica would let through about twice that.
 */
async function rateLimitProbe(rec, lb) {
  const capacity = 3 * MULTIPLIER;
  const refillPerSec = capacity / 300;
  await sleep(2000);
  let allowed = 0;
  let denied = 0;
  let sent = 0;
  const first = Date.now();
  let last = first;
  // Sixteen at a time, to the end even when the workload stops first: the bucket must be drained
  // (some requests denied) for the count to mean anything.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (sent < capacity * 1.5) {
        const i = sent++;
        const r = await rec.call('probe', `${lb}/auth/signup/resend`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: `nobody${i}@example.com` }),
        });
        if (r.status === 200) allowed++;
        else if (r.status === 429) denied++;
        last = Date.now();
      }
    }),
  );
  const budget = capacity + (refillPerSec * (last - first)) / 1000;
  // A request that failed (in flight on the killed replica) may or may not have taken a token:
  // allowed is at most the budget, allowed + failed at least it (each within 1 %).
  const failed = sent - allowed - denied;
  const off = allowed > budget ? (allowed - budget) / budget : Math.min(0, (allowed + failed - budget) / budget);
  return {
    name: 'rate limit across replicas (allowed / budget)',
    value: `${allowed} / ${budget.toFixed(1)} (${(off * 100).toFixed(2)} % off), ${denied} denied, ${failed} failed`,
    pass: denied > 0 && Math.abs(off) <= 0.01,
  };
}
