#!/usr/bin/env node
/**
 * LLM gateway benchmark: what Loam adds to a call, against calling the provider directly.
 *
 * The provider is the wire-protocol test double (packages/server/src/test/llm-test-doubles.ts,
 * OpenAI chat completions, answering "echo: <prompt>" at once) in its own process; Loam runs in
 * another, configured with that double as its only provider; this process is the client. Each
 * case alternates one direct call and one call through Loam (same body, sequential, keep-alive),
 * so drift on this shared machine hits both alike; overhead = p50(Loam) − p50(direct).
 *
 *   non-streamed, privacy off       POST /v1/chat/completions, short prompt
 *   non-streamed, generate API      POST /api/v1/llm/generate, short prompt
 *   non-streamed, pseudonymize 2 KB POST /v1/chat/completions + X-Loam-Privacy: pseudonymize, a
 *                                   2 KB prompt dense with names, emails and phones (the answer
 *                                   echoes the tokens, so restoring them is measured too)
 *   stream, time to first token     POST /v1/chat/completions stream:true, until the first
 *                                   non-empty content delta arrives
 *
 * Every call through Loam is a real call: quota check, privacy, provider call, one usage row and
 * one event written to SQLite.
 *
 * Run: npm run build && node bench/llm.bench.mjs   (--json for one machine-readable line; BENCH_N calls per case
 *      and side, default 1000; BENCH_WARMUP, default 200; BENCH_CASES=<words> runs only the cases whose
 *      name contains one of the comma-separated words, e.g. BENCH_CASES=privacy,stream)
 *
 * A/B against another build: BENCH_BASE_DIST=<dir>/packages/server/dist starts a second Loam from
 * that copy of the server's dist (beside it the package.json; <dir>/node_modules and
 * <dir>/packages/server/node_modules linking to this checkout's, so both resolve the same
 * dependencies). Each round
 * then calls direct, this build and the base build (the two builds' order alternating), and every
 * case reports both.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { cpuSecondsOf } from './common.mjs';

const ADMIN_KEY = 'loam_sk_bench_admin_0123456789abcdefghij';
const role = process.argv[2];
const N = Number(process.env.BENCH_N ?? 1000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 200);

async function registerSources() {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.test.json', import.meta.url)) });
}

async function serveDouble() {
  await registerSources();
  const { LlmTestDouble } = await import('../packages/server/src/test/llm-test-doubles.ts');
  const double = await LlmTestDouble.start();
  // The double records requests; keep its memory flat over thousands of calls.
  setInterval(() => double.requests.splice(0), 1000).unref();
  process.send({ url: double.url });
  process.on('disconnect', async () => {
    await double.close();
    process.exit(0);
  });
}

async function serveLoam(doubleUrl, dist) {
  // Loam as it ships (`npm run build`): tsx's on-the-fly transform wraps every closure in a naming
  // helper and would charge its cost to the gateway.
  const { createLoam, loadConfig } = await import(
    dist ? pathToFileURL(join(resolve(dist), 'index.js')).href : '../packages/server/dist/index.js'
  );
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-llm-'));
  const config = loadConfig(
    {},
    {
      dataDir,
      logLevel: 'silent',
      rateLimitEnabled: false,
      adminApiKey: ADMIN_KEY,
      port: 0,
      llmProviders: [{ name: 'double', kind: 'openai', baseUrl: `${doubleUrl}/v1`, apiKey: 'sk-bench', models: ['gpt-bench'] }],
    },
  );
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ port: app.server.address().port });
  process.on('disconnect', async () => {
    await loam.close(1000);
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

function start(args) {
  // BENCH_PROFILE=<dir>: a CPU profile of Loam's process (node --cpu-prof) for finding where its time goes.
  const execArgv =
    args[0] === '--serve-loam' && process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, ...m }));
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

/** ~2 KB of customer-service text, dense with PII (names, emails, phones) the engine finds. */
function piiPrompt() {
  const people = [
    ['Maria Garcia', 'maria.garcia@example.com', '+1 415 555 0132'],
    ['John Smith', 'john.smith@example.org', '+44 20 7946 0958'],
    ['Aiko Tanaka', 'aiko.tanaka@example.jp', '+1 212 555 0187'],
    ['Pierre Dubois', 'p.dubois@example.fr', '+33 1 42 68 53 00'],
  ];
  let text = 'Summarize the following support tickets for the weekly report.\n';
  for (let i = 0; Buffer.byteLength(text) < 2048; i++) {
    const [name, email, phone] = people[i % people.length];
    text += `Ticket ${1000 + i}: ${name} wrote from ${email} about a late delivery and asked to be called back on ${phone} before Friday. `;
  }
  return text.slice(0, 2048);
}

const chat = (content, extra = {}) => ({ model: 'gpt-bench', messages: [{ role: 'user', content }], ...extra });

async function post(url, body, headers) {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await res.text();
  const ms = performance.now() - t0;
  if (!res.ok) throw new Error(`${url} → ${res.status} ${text.slice(0, 200)}`);
  return { ms, text };
}

/** Milliseconds until the first non-empty content delta of an OpenAI stream; then reads to the end. */
async function firstToken(url, body, headers) {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url} → ${res.status}`);
  const decoder = new TextDecoder();
  let seen = '';
  let ms;
  for await (const chunk of res.body) {
    if (ms === undefined) {
      seen += decoder.decode(chunk, { stream: true });
      if (/"content":"[^"]/.test(seen)) ms = performance.now() - t0;
    }
  }
  return ms;
}

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/**
 * Alternates direct and Loam calls (with a base build, direct, then both builds in alternating
 * order); returns p50/p90 of each side, the p50 overhead, and the CPU time each Loam process spent
 * per call (wall times on a loaded machine include waiting for a core; CPU time does not).
 */
async function paired(direct, loams, doublePid) {
  const a = [];
  const times = loams.map(() => []);
  const cpu0 = loams.map((l) => cpuSecondsOf(l.pid));
  const doubleCpu0 = cpuSecondsOf(doublePid);
  for (let i = 0; i < N; i++) {
    a.push(await direct());
    for (let j = 0; j < loams.length; j++) {
      const k = i % 2 ? loams.length - 1 - j : j;
      times[k].push(await loams[k].call());
    }
  }
  a.sort((x, y) => x - y);
  const directP50 = pct(a, 50);
  const result = {
    direct: { p50: directP50, p90: pct(a, 90) },
    // The double answers every side: a bare Node HTTP server's cost per request, for scale.
    doubleCpuMsPerCall: doubleCpu0 === undefined ? undefined : ((cpuSecondsOf(doublePid) - doubleCpu0) * 1000) / ((1 + loams.length) * N),
  };
  loams.forEach((l, k) => {
    const b = times[k].sort((x, y) => x - y);
    const cpu = cpu0[k] === undefined ? undefined : ((cpuSecondsOf(l.pid) - cpu0[k]) * 1000) / N;
    result[l.name] = { p50: pct(b, 50), p90: pct(b, 90), overheadP50: pct(b, 50) - directP50, cpuMsPerCall: cpu };
  });
  return result;
}

async function main() {
  const double = await start(['--serve-double']);
  const builds = [{ name: 'loam', ...(await start(['--serve-loam', double.url])) }];
  if (process.env.BENCH_BASE_DIST)
    builds.push({ name: 'base', ...(await start(['--serve-loam', double.url, process.env.BENCH_BASE_DIST])) });
  for (const b of builds) b.url = `http://127.0.0.1:${b.port}`;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const short = chat('Say hello to the benchmark in five words.');
  const big = chat(piiPrompt());
  try {
    // The answer through Loam must be the same as the double's (pseudonyms restored).
    for (const { url } of builds) {
      const check = JSON.parse((await post(`${url}/v1/chat/completions`, big, { ...auth, 'x-loam-privacy': 'pseudonymize' })).text);
      if (check.choices[0].message.content !== `echo: ${big.messages[0].content}`) throw new Error('pseudonymized answer not restored');
    }

    const direct = (body) => async () => (await post(`${double.url}/v1/chat/completions`, body)).ms;
    /** One case: the direct call, and the same call through each build (`via(url)` makes it). */
    const run = (directCall, via) => ({
      direct: directCall,
      loams: builds.map((b) => ({ name: b.name, pid: b.child.pid, call: via(b.url) })),
    });
    const cases = {
      'non-streamed, privacy off (/v1/chat/completions)': () =>
        run(direct(short), (url) => async () => (await post(`${url}/v1/chat/completions`, short, auth)).ms),
      'non-streamed, generate API (/api/v1/llm/generate)': () =>
        run(
          direct(short),
          (url) => async () =>
            (await post(`${url}/api/v1/llm/generate`, { model: 'gpt-bench', prompt: short.messages[0].content }, auth)).ms,
        ),
      'non-streamed, pseudonymize, 2 KB prompt': () =>
        run(
          direct(big),
          (url) => async () => (await post(`${url}/v1/chat/completions`, big, { ...auth, 'x-loam-privacy': 'pseudonymize' })).ms,
        ),
      'stream, time to first token': () =>
        run(
          () => firstToken(`${double.url}/v1/chat/completions`, { ...short, stream: true }),
          (url) => () => firstToken(`${url}/v1/chat/completions`, { ...short, stream: true }, auth),
        ),
    };
    const only = process.env.BENCH_CASES?.split(',').filter(Boolean);
    const selected = Object.entries(cases)
      .filter(([name]) => !only || only.some((w) => name.includes(w)))
      .map(([name, make]) => [name, make()]);
    // Every case warms up before any is measured, then the servers get a moment to finish their
    // concurrent GC: a server fresh from startup (migrations, the privacy engine's lexicon) still
    // JIT-compiles and collects its startup garbage, a one-off cost the first case measured would
    // otherwise absorb (about 1 ms per call over 500 calls, whichever case came first).
    for (const [, c] of selected)
      for (let i = 0; i < WARMUP; i++) {
        await c.direct();
        for (const l of c.loams) await l.call();
      }
    await new Promise((r) => setTimeout(r, 1000));
    const results = {};
    for (const [name, c] of selected) results[name] = await paired(c.direct, c.loams, double.child.pid);
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ bench: 'llm', machine, n: N, results }));
      return;
    }
    console.log(`LLM gateway overhead — ${machine} — ${N} calls per case and side (after ${WARMUP} warm-up pairs)\n`);
    console.log(
      '| case | build | direct p50 / p90 (ms) | via Loam p50 / p90 (ms) | overhead p50 (ms) | Loam CPU per call (ms) | double CPU per request (ms) |',
    );
    console.log('|---|---|---:|---:|---:|---:|---:|');
    const f = (x) => (x === undefined ? '—' : x.toFixed(2));
    for (const [name, r] of Object.entries(results))
      for (const { name: build } of builds) {
        const l = r[build];
        console.log(
          `| ${name} | ${build} | ${f(r.direct.p50)} / ${f(r.direct.p90)} | ${f(l.p50)} / ${f(l.p90)} | ${f(l.overheadP50)} | ${f(l.cpuMsPerCall)} | ${f(r.doubleCpuMsPerCall)} |`,
        );
      }
  } finally {
    for (const b of builds) b.child.disconnect();
    double.child.disconnect();
  }
}

if (role === '--serve-double') await serveDouble();
else if (role === '--serve-loam') await serveLoam(process.argv[3], process.argv[4]);
else await main();
