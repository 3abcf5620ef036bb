#!/usr/bin/env node
/**
 * Message bus (#16) on the built `loam serve` (SQLite, rate limits off):
 * - sending: messages/s one per request and in batches of 100 (autocannon, 10 connections),
 *   against bare Fastify answering a POST of the same body, measured in the same run;
 * - fan-out: p50/p99 delivery latency of each message to 1,000 SSE subscribers of one session
 *   (50 messages, 20 ms apart; from just before the POST, the strict measure, and from its 201),
 *   the subscribers raw TCP sockets read in BENCH_SUBSCRIBER_PROCS client processes (default 2),
 *   with the CPU the server and the clients used meanwhile;
 * - memory: the server's RSS growth per idle SSE subscriber (1,000 of them).
 * With BENCH_BASE_BIN=<another build's loam.mjs> the fan-out runs alternate between that build
 * and this one, BENCH_ROUNDS rounds each (A/B under the same machine load).
 *
 * Run: npm run build && node bench/bus.bench.mjs   (BENCH_DURATION s per send run, default 5;
 *      BENCH_SUBSCRIBERS, default 1000; BENCH_PARTS=send,fanout; --json for a machine-readable line)
 */
import { fork } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { cpuSecondsOf, median, rssOf, sleep, startLoam, table } from './common.mjs';

const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1000);
const SUBSCRIBER_PROCS = Number(process.env.BENCH_SUBSCRIBER_PROCS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const MESSAGES = 50;
const INTERVAL = 20;
/** `send` (message rates), `fanout` (latency and idle memory); both by default. */
const PARTS = (process.env.BENCH_PARTS ?? 'send,fanout').split(',');
/** Another build of the bundle (its `loam.mjs`) to measure fan-out against, round by round. */
const BASE_BIN = process.env.BENCH_BASE_BIN;
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

/** Milliseconds on the monotonic clock every process on this machine shares (Linux CLOCK_MONOTONIC). */
function now() {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * A subscriber process: opens `n` SSE subscriptions on raw TCP sockets (no HTTP parser, no JSON
 * parse: the cheapest client, so that the clients are not what is measured) and records, for each
 * message, its number and the moment its bytes arrived. Subscribers live in child processes so
 * that reading 1,000 streams is not charged to one event loop.
 */
async function serveSubscribers(url, session, n) {
  const net = await import('node:net');
  const { hostname, port } = new URL(url);
  const request = `GET /api/v1/sessions/${session}/stream HTTP/1.1\r\nhost: ${hostname}:${port}\r\nx-api-key: ${ADMIN_KEY}\r\naccept: text/event-stream\r\n\r\n`;
  /** Pairs (message number, arrival time), flat. */
  const received = [];
  const sockets = [];
  let ready = 0;
  const MARK = '"data":{"n":';
  const readBuffer = Buffer.allocUnsafe(64 * 1024); // each read is consumed before the next
  for (let i = 0; i < n; i++) {
    let carry = '';
    let started = false;
    // `onread` hands each read to the callback in one reused buffer: no stream machinery, no
    // buffer allocated per read.
    const socket = net.connect({
      port: Number(port),
      host: hostname,
      noDelay: true,
      onread: {
        buffer: readBuffer,
        callback(nread, buffer) {
          const at = now();
          const buf = carry + buffer.latin1Slice(0, nread);
          if (!started) {
            if (!buf.includes('event: ready')) {
              carry = buf;
              return;
            }
            if (!buf.startsWith('HTTP/1.1 200')) throw new Error(`subscription refused: ${buf.slice(0, 200)}`);
            started = true;
            if (++ready === n) process.send({ ready: true });
          }
          let from = 0;
          for (let i = buf.indexOf(MARK); i >= 0; i = buf.indexOf(MARK, from)) {
            const end = buf.indexOf('}', i);
            if (end < 0) break;
            received.push(Number(buf.slice(i + MARK.length, end)), at);
            from = end;
          }
          carry = buf.slice(Math.max(from, buf.length - MARK.length - 24));
        },
      },
    });
    socket.write(request);
    socket.on('error', () => {});
    sockets.push(socket);
    if (i % 100 === 99) await sleep(20); // do not open them all in one burst
  }
  process.on('message', () => {
    for (const s of sockets) s.destroy();
    process.send({ received }, () => process.exit(0));
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
  return {
    /** CPU seconds the subscriber processes used so far. */
    cpu: () => children.reduce((sum, c) => sum + cpuSecondsOf(c.pid), 0),
    /** Ends the subscriptions; resolves with every (message number, arrival time) pair, flat. */
    close: async () => {
      const all = await Promise.all(
        children.map(
          (child) =>
            new Promise((res) => {
              child.removeAllListeners('exit');
              child.once('message', (m) => res(m.received));
              child.send('report');
            }),
        ),
      );
      return all.flat();
    },
  };
}

/** System (kernel) CPU seconds of a process so far (Linux /proc; 10 ms ticks): socket writes are mostly that. */
function sysSecondsOf(pid) {
  return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[12]) / 100;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Sends MESSAGES messages, INTERVAL ms apart, to a session `n` subscribers follow; each message's
 * latency is measured from just before its POST (send start) and from its 201 (send acknowledged)
 * to its arrival at each subscriber.
 */
async function fanOut(loam, n) {
  const session = `fanout-${Math.random().toString(36).slice(2, 8)}`;
  const rss0 = rssOf(loam.pid);
  const subs = await subscribe(loam.url, session, n, SUBSCRIBER_PROCS);
  await sleep(1000);
  const rss1 = rssOf(loam.pid);
  const sentAt = [];
  const ackedAt = [];
  const cpu0 = { server: cpuSecondsOf(loam.pid), sys: sysSecondsOf(loam.pid), clients: subs.cpu() };
  for (let i = 0; i < MESSAGES; i++) {
    sentAt[i] = now();
    const res = await fetch(`${loam.url}/api/v1/sessions/${session}/messages`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ data: { n: i } }),
    });
    ackedAt[i] = now();
    if (res.status !== 201) throw new Error(`send failed: ${res.status}`);
    await res.arrayBuffer();
    await sleep(INTERVAL);
  }
  await sleep(1500);
  const cpu1 = { server: cpuSecondsOf(loam.pid), sys: sysSecondsOf(loam.pid), clients: subs.cpu() };
  const received = await subs.close();
  const fromSend = [];
  const fromAck = [];
  for (let i = 0; i < received.length; i += 2) {
    fromSend.push(received[i + 1] - sentAt[received[i]]);
    fromAck.push(received[i + 1] - ackedAt[received[i]]);
  }
  fromSend.sort((a, b) => a - b);
  fromAck.sort((a, b) => a - b);
  return {
    delivered: fromSend.length,
    p50: percentile(fromSend, 50),
    p99: percentile(fromSend, 99),
    ackP50: percentile(fromAck, 50),
    ackP99: percentile(fromAck, 99),
    serverCpu: cpu1.server - cpu0.server,
    serverSys: cpu1.sys - cpu0.sys,
    clientCpu: cpu1.clients - cpu0.clients,
    idleKiB: (rss1 - rss0) / 1024 / n,
  };
}

async function sendRates() {
  const loam = await startLoam({ LOAM_RATE_LIMIT_ENABLED: 'false', LOAM_ADMIN_API_KEY: ADMIN_KEY, LOAM_JOB_CONCURRENCY: '0' });
  const bare = await startBare();
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
    return [
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
    ];
  } finally {
    bare.child.disconnect();
    await loam.stop();
  }
}

/**
 * Fan-out rounds: this build, and with BENCH_BASE_BIN another build of the bundle (the baseline),
 * alternating (base, this, base, this, …) so that both see the same machine load.
 */
async function fanOutRounds() {
  const builds = [...(BASE_BIN ? [{ name: 'base', bin: BASE_BIN }] : []), { name: 'this', bin: undefined }];
  const results = Object.fromEntries(builds.map((b) => [b.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
      const env = {
        LOAM_RATE_LIMIT_ENABLED: 'false',
        LOAM_ADMIN_API_KEY: ADMIN_KEY,
        LOAM_JOB_CONCURRENCY: '0',
        LOAM_BUS_HEARTBEAT_MS: '60000',
      };
      const loam = await startLoam(env, undefined, build.bin ? { bin: build.bin } : undefined);
      try {
        const r = await fanOut(loam, SUBSCRIBERS);
        results[build.name].push(r);
        const f = (x) => x.toFixed(1);
        console.error(
          `round ${round + 1} ${build.name}: p50 ${f(r.p50)} p99 ${f(r.p99)} ms (from ack ${f(r.ackP50)}/${f(r.ackP99)}), ` +
            `server ${f(r.serverCpu)} CPU-s (${f(r.serverSys)} sys), clients ${f(r.clientCpu)} CPU-s, load ${os.loadavg()[0].toFixed(1)}`,
        );
      } finally {
        await loam.stop();
      }
    }
  }
  const rows = [];
  for (const build of builds) {
    const rs = results[build.name];
    const med = (k) => median(rs.map((r) => r[k]));
    rows.push({
      build: build.name,
      delivered: rs.map((r) => `${r.delivered}/${MESSAGES * SUBSCRIBERS}`).join(' '),
      'p50 ms': med('p50').toFixed(1),
      'p99 ms': med('p99').toFixed(1),
      'p99 per round': rs.map((r) => r.p99.toFixed(1)).join(' '),
      'p50/p99 from ack': `${med('ackP50').toFixed(1)}/${med('ackP99').toFixed(1)}`,
      'server CPU-s (sys)': `${med('serverCpu').toFixed(2)} (${med('serverSys').toFixed(2)})`,
      'client CPU-s': med('clientCpu').toFixed(2),
      'idle KiB/sub': med('idleKiB').toFixed(1),
    });
  }
  return rows;
}

async function main() {
  const rows = PARTS.includes('send') ? await sendRates() : [];
  const fan = PARTS.includes('fanout') ? await fanOutRounds() : [];
  console.log(`Bus: Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}`);
  if (rows.length) console.log(table(rows));
  if (fan.length) {
    console.log(
      `fan-out: ${MESSAGES} messages ${INTERVAL} ms apart to ${SUBSCRIBERS} SSE subscribers in ${SUBSCRIBER_PROCS} processes, ` +
        `median of ${ROUNDS} rounds (target p99 ≤ 50 ms; idle subscriber ≤ 64 KiB)`,
    );
    console.log(table(fan));
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify({ bench: 'bus', rows, fan }));
}
