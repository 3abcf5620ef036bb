#!/usr/bin/env node
/**
 * Message bus (#16) on the built `loam serve` (SQLite, rate limits off):
 * - sending: messages/s one per request and in batches of 100 (autocannon, 10 connections),
 *   against bare Fastify answering a POST of the same body, measured in the same run;
 * - fan-out: p50/p99 delivery latency of each message to 1,000 SSE subscribers of one session
 *   (from just before the POST to each subscriber's receipt, 50 messages, 20 ms apart), the
 *   subscribers spread over BENCH_SUBSCRIBER_PROCS client processes (default 2) on plain node:http;
 * - memory: the server's RSS growth per idle SSE subscriber (1,000 of them).
 *
 * Run: npm run build && node bench/bus.bench.mjs   (BENCH_DURATION s per send run, default 5;
 *      BENCH_SUBSCRIBERS, default 1000; --json for a machine-readable line)
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import { rssOf, sleep, startLoam, table } from './common.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const SUBSCRIBER_PROCS = Number(process.env.BENCH_SUBSCRIBER_PROCS ?? 2);
const ADMIN_KEY = 'loam_sk_bench_bus_admin_key_0123456789abcdefghijk';
const ONE = JSON.stringify({ type: 'chat', data: { text: 'hello from the benchmark', n: 1 } });
const BATCH = JSON.stringify(Array.from({ length: 100 }, (_, i) => ({ type: 'chat', data: { text: 'hello from the benchmark', n: i } })));

if (process.argv[2] === '--serve-bare') await serveBare();
else if (process.argv[2] === '--subscribe') await serveSubscribers(process.argv[3], process.argv[4], Number(process.argv[5]));
else await main();

async function serveBare() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  app.post('/api/v1/sessions/:sid/messages', async (req, reply) => reply.code(201).send({ status: 'success', data: req.body }));
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

async function sendRate(url, body, perRequest, session) {
  const r = await autocannon({
    url: `${url}/api/v1/sessions/${session}/messages`,
    method: 'POST',
    connections: 10,
    duration: DURATION,
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    body,
  });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
  return { rps: r.requests.average, messages: r.requests.average * perRequest, p99: r.latency.p99 };
}

/** Milliseconds on a clock every process on this machine shares (sub-millisecond resolution). */
function now() {
  return performance.timeOrigin + performance.now();
}

/**
 * A subscriber process: opens `n` SSE subscriptions (plain node:http, the cheapest client) and
 * records each message's latency from the `sent_at` the sender stamped into it. Subscribers live
 * in child processes so that parsing 1,000 streams is not charged to one client's event loop.
 */
async function serveSubscribers(url, session, n) {
  const http = await import('node:http');
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const latencies = [];
  const requests = [];
  let ready = 0;
  for (let i = 0; i < n; i++) {
    const req = http.get(`${url}/api/v1/sessions/${session}/stream`, { agent, headers: { 'x-api-key': ADMIN_KEY } }, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk) => {
        const at = now();
        buf += chunk;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          if (block.startsWith('event: ready')) {
            if (++ready === n) process.send({ ready: true });
          } else if (block.includes('event: message'))
            latencies.push(at - JSON.parse(block.slice(block.indexOf('data: ') + 6)).data.sent_at);
          end = buf.indexOf('\n\n');
        }
      });
    });
    req.on('error', () => {});
    requests.push(req);
    if (i % 100 === 99) await sleep(20); // do not open them all in one burst
  }
  process.on('message', () => {
    for (const r of requests) r.destroy();
    process.send({ latencies }, () => process.exit(0));
  });
}

/** Opens `n` SSE subscriptions from `procs` child processes; resolves once every one has said `ready`. */
async function subscribe(url, session, n, procs) {
  const children = await Promise.all(
    Array.from({ length: procs }, (_, i) => {
      const count = Math.floor(n / procs) + (i < n % procs ? 1 : 0);
      const child = fork(new URL(import.meta.url).pathname, ['--subscribe', url, session, String(count)], { stdio: 'inherit' });
      return new Promise((res, rej) => {
        child.once('message', () => res(child));
        child.once('exit', (code) => rej(new Error(`subscriber process exited ${code}`)));
      });
    }),
  );
  /** Ends the subscriptions; resolves with every latency recorded. */
  return async () => {
    const all = await Promise.all(
      children.map(
        (child) =>
          new Promise((res) => {
            child.removeAllListeners('exit');
            child.once('message', (m) => res(m.latencies));
            child.send('report');
          }),
      ),
    );
    return all.flat();
  };
}

async function main() {
  const loam = await startLoam({
    LOAM_RATE_LIMIT_ENABLED: 'false',
    LOAM_ADMIN_API_KEY: ADMIN_KEY,
    LOAM_JOB_CONCURRENCY: '0',
    LOAM_BUS_HEARTBEAT_MS: '60000',
  });
  const bare = await startBare();
  const rows = [];
  const fan = [];
  try {
    // Warm-up.
    await autocannon({
      url: `${loam.url}/api/v1/sessions/warm/messages`,
      method: 'POST',
      connections: 10,
      duration: 1,
      headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: ONE,
    });
    const single = await sendRate(loam.url, ONE, 1, 'single');
    const bareSingle = await sendRate(bare.url, ONE, 1, 'single');
    const batched = await sendRate(loam.url, BATCH, 100, 'batched');
    const bareBatched = await sendRate(bare.url, BATCH, 100, 'batched');
    rows.push(
      {
        case: 'send, 1 per request',
        'loam msg/s': Math.round(single.messages),
        'loam p99 ms': single.p99,
        'bare req/s': Math.round(bareSingle.rps),
        target: '≥ 1,000',
      },
      {
        case: 'send, 100 per request',
        'loam msg/s': Math.round(batched.messages),
        'loam p99 ms': batched.p99,
        'bare req/s': Math.round(bareBatched.rps),
        target: '≥ 5,000',
      },
    );

    // Idle memory per subscriber, then fan-out latency to the same subscribers.
    const rss0 = rssOf(loam.pid);
    const close = await subscribe(loam.url, 'fanout', SUBSCRIBERS, SUBSCRIBER_PROCS);
    await sleep(1000);
    const rss1 = rssOf(loam.pid);
    const perSubscriberKiB = (rss1 - rss0) / 1024 / SUBSCRIBERS;
    for (let n = 0; n < 50; n++) {
      const res = await fetch(`${loam.url}/api/v1/sessions/fanout/messages`, {
        method: 'POST',
        headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ data: { n, sent_at: now() } }),
      });
      if (res.status !== 201) throw new Error(`send failed: ${res.status}`);
      await sleep(20);
    }
    await sleep(2000);
    const latencies = await close();
    latencies.sort((a, b) => a - b);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
    fan.push({
      case: `fan-out to ${SUBSCRIBERS} SSE subscribers`,
      delivered: `${latencies.length}/${50 * SUBSCRIBERS}`,
      'p50 ms': pct(50).toFixed(1),
      'p99 ms': pct(99).toFixed(1),
      target: 'p99 ≤ 50',
    });
    fan.push({
      case: `idle SSE subscriber (RSS growth / ${SUBSCRIBERS})`,
      delivered: '',
      'p50 ms': '',
      'p99 ms': `${perSubscriberKiB.toFixed(1)} KiB each`,
      target: '≤ 64 KiB',
    });
  } finally {
    bare.child.disconnect();
    await loam.stop();
  }
  console.log(`Bus: Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}`);
  console.log(table(rows));
  console.log(table(fan));
  if (process.argv.includes('--json')) console.log(JSON.stringify({ bench: 'bus', rows, fan }));
}
