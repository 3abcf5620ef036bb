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
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

async function serveLoam(doubleUrl) {
  // Loam as it ships (`npm run build`): tsx's on-the-fly transform wraps every closure in a naming
  // helper and would charge its cost to the gateway.
  const { createLoam, loadConfig } = await import('../packages/server/dist/index.js');
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
 * Alternates direct and Loam calls; returns p50/p90 of each, the p50 overhead, and the CPU time
 * the Loam process spent per call (wall times on a loaded machine include waiting for a core;
 * CPU time does not).
 */
async function paired(direct, viaLoam, loamPid, doublePid) {
  for (let i = 0; i < WARMUP; i++) {
    await direct();
    await viaLoam();
  }
  const a = [];
  const b = [];
  const cpu0 = cpuSecondsOf(loamPid);
  const doubleCpu0 = cpuSecondsOf(doublePid);
  for (let i = 0; i < N; i++) {
    a.push(await direct());
    b.push(await viaLoam());
  }
  a.sort((x, y) => x - y);
  b.sort((x, y) => x - y);
  return {
    direct: { p50: pct(a, 50), p90: pct(a, 90) },
    loam: { p50: pct(b, 50), p90: pct(b, 90) },
    overheadP50: pct(b, 50) - pct(a, 50),
    loamCpuMsPerCall: cpu0 === undefined ? undefined : ((cpuSecondsOf(loamPid) - cpu0) * 1000) / N,
    // The double answers both sides: a bare Node HTTP server's cost per request, for scale.
    doubleCpuMsPerCall: doubleCpu0 === undefined ? undefined : ((cpuSecondsOf(doublePid) - doubleCpu0) * 1000) / (2 * N),
  };
}

async function main() {
  const double = await start(['--serve-double']);
  const loam = await start(['--serve-loam', double.url]);
  const loamUrl = `http://127.0.0.1:${loam.port}`;
  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const short = chat('Say hello to the benchmark in five words.');
  const big = chat(piiPrompt());
  try {
    // The answer through Loam must be the same as the double's (pseudonyms restored).
    const check = JSON.parse((await post(`${loamUrl}/v1/chat/completions`, big, { ...auth, 'x-loam-privacy': 'pseudonymize' })).text);
    if (check.choices[0].message.content !== `echo: ${big.messages[0].content}`) throw new Error('pseudonymized answer not restored');

    const direct = (body) => async () => (await post(`${double.url}/v1/chat/completions`, body)).ms;
    const cases = {
      'non-streamed, privacy off (/v1/chat/completions)': () =>
        paired(direct(short), async () => (await post(`${loamUrl}/v1/chat/completions`, short, auth)).ms, loam.child.pid, double.child.pid),
      'non-streamed, generate API (/api/v1/llm/generate)': () =>
        paired(
          direct(short),
          async () => (await post(`${loamUrl}/api/v1/llm/generate`, { model: 'gpt-bench', prompt: short.messages[0].content }, auth)).ms,
          loam.child.pid,
          double.child.pid,
        ),
      'non-streamed, pseudonymize, 2 KB prompt': () =>
        paired(
          direct(big),
          async () => (await post(`${loamUrl}/v1/chat/completions`, big, { ...auth, 'x-loam-privacy': 'pseudonymize' })).ms,
          loam.child.pid,
          double.child.pid,
        ),
      'stream, time to first token': () =>
        paired(
          () => firstToken(`${double.url}/v1/chat/completions`, { ...short, stream: true }),
          () => firstToken(`${loamUrl}/v1/chat/completions`, { ...short, stream: true }, auth),
          loam.child.pid,
          double.child.pid,
        ),
    };
    const only = process.env.BENCH_CASES?.split(',').filter(Boolean);
    const results = {};
    for (const [name, run] of Object.entries(cases)) if (!only || only.some((w) => name.includes(w))) results[name] = await run();
    const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`;
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ bench: 'llm', machine, n: N, results }));
      return;
    }
    console.log(`LLM gateway overhead — ${machine} — ${N} calls per case and side (after ${WARMUP} warm-up pairs)\n`);
    console.log(
      '| case | direct p50 / p90 (ms) | via Loam p50 / p90 (ms) | overhead p50 (ms) | Loam CPU per call (ms) | double CPU per request (ms) |',
    );
    console.log('|---|---:|---:|---:|---:|---:|');
    const f = (x) => x.toFixed(2);
    for (const [name, r] of Object.entries(results))
      console.log(
        `| ${name} | ${f(r.direct.p50)} / ${f(r.direct.p90)} | ${f(r.loam.p50)} / ${f(r.loam.p90)} | ${f(r.overheadP50)} | ${r.loamCpuMsPerCall === undefined ? '—' : f(r.loamCpuMsPerCall)} | ${r.doubleCpuMsPerCall === undefined ? '—' : f(r.doubleCpuMsPerCall)} |`,
      );
  } finally {
    loam.child.disconnect();
    double.child.disconnect();
  }
}

if (role === '--serve-double') await serveDouble();
else if (role === '--serve-loam') await serveLoam(process.argv[3]);
else await main();
