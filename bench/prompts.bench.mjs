#!/usr/bin/env node
/**
 * Prompts benchmark.
 *
 * 1. Rendering throughput (renders/s), in process: Loam's renderer (template compiled once per
 *    version, then variables resolved and parts joined — the per-request work of
 *    POST /prompts/{id}/render without HTTP and SQL) against two baselines measured in the same
 *    run: a plain String.replace loop (one replaceAll per variable) and a single regex replace
 *    with a callback. Same template and values for all three; outputs are checked equal first.
 * 2. POST /prompts/{id}/render over HTTP (authentication, SQL read, render, JSON), req/s with
 *    autocannon, against a bare Fastify route that renders the same template with String.replace.
 *    Each server runs in its own child process; rate limits are off in the server under test.
 *
 * Run: node bench/prompts.bench.mjs   (--json for one machine-readable line;
 *      BENCH_DURATION=seconds per HTTP run, default 10; BENCH_RENDER_MS per render run, default 2000)
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ADMIN_KEY = 'loam_sk_bench_admin_0123456789abcdefghij';
const role = process.argv[2];

/** A realistic template: ~2 KB of instructions, 8 variables, 16 placeholders. */
const VARIABLES = ['persona', 'audience', 'topic', 'tone', 'length', 'language', 'context', 'question'];
const TEMPLATE = [
  'You are {{persona}}. Write for {{audience}} about {{topic}} in a {{tone}} tone.',
  'Keep the answer under {{length}} words and write it in {{language}}.',
  `${'Follow the style guide: short sentences, active voice, no jargon, cite sources when you can. '.repeat(12)}`,
  'Context:\n{{context}}\n\nQuestion: {{question}}\n',
  'Remember: {{persona}} speaks to {{audience}} about {{topic}}, {{tone}}, at most {{length}} words, in {{language}}.',
  'Answer the question "{{question}}" using only the context above.',
].join('\n');
const VALUES = {
  persona: 'a patient science teacher',
  audience: 'curious teenagers',
  topic: 'photosynthesis',
  tone: 'friendly',
  length: '300',
  language: 'English',
  context: 'Plants convert light energy into chemical energy stored in glucose. '.repeat(8),
  question: 'Why are leaves green?',
};

if (role === '--serve-loam') await serveLoam();
else if (role === '--serve-bare') await serveBare();
else await main();

async function registerSources() {
  const { register } = await import('tsx/esm/api');
  // tsconfig.test.json maps @loam/* to the sources, so the benchmark needs no build.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.test.json', import.meta.url)) });
}

async function serveLoam() {
  await registerSources();
  const { createLoam } = await import('../packages/server/src/app.ts');
  const { loadConfig } = await import('../packages/server/src/config.ts');
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-prompts-'));
  const config = loadConfig({}, { dataDir, logLevel: 'silent', rateLimitEnabled: false, adminApiKey: ADMIN_KEY, port: 0 });
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const app = await loam.http();
  const actor = { tenantId: 'default', subject: 'bench', kind: 'api_key', roles: ['admin'], scopes: ['*'] };
  const ctx = { tenantId: 'default', principal: actor, requestId: 'bench', ip: '127.0.0.1' };
  const prompt = await loam.services.prompts.create(ctx, {
    name: 'bench',
    template: TEMPLATE,
    variables: VARIABLES.map((name) => ({ name, required: true })),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ port: app.server.address().port, promptId: prompt.id });
  process.on('disconnect', async () => {
    await loam.close(1000);
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(0);
  });
}

function replaceLoop(template, values) {
  let text = template;
  for (const [name, value] of Object.entries(values)) text = text.replaceAll(`{{${name}}}`, () => value);
  return text;
}

async function serveBare() {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.post('/render', async (request) => ({ text: replaceLoop(TEMPLATE, request.body.variables), version: 1 }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  process.send({ port: app.server.address().port });
  process.on('disconnect', () => process.exit(0));
}

function startServer(flag) {
  const child = fork(fileURLToPath(import.meta.url), [flag], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (info) => resolve({ child, info }));
    child.once('exit', (code) => reject(new Error(`${flag} exited with ${code}`)));
  });
}

/** Calls `fn` in batches for `ms` milliseconds (after a warm-up); returns calls per second. */
function rate(fn, ms) {
  for (let i = 0; i < 20_000; i++) fn();
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(ms * 1e6));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 1000; i++) fn();
    n += 1000;
    now = process.hrtime.bigint();
  }
  return Math.round(n / (Number(now - start) / 1e9));
}

async function renderRates() {
  await registerSources();
  const { compileTemplate, renderCompiled, resolveVariables } = await import('../packages/server/src/modules/prompts/template.ts');
  const declared = VARIABLES.map((name) => ({ name, required: true }));
  const compiled = compileTemplate(TEMPLATE);
  const loamRender = () => {
    const { values, missing, unknown } = resolveVariables(declared, VALUES);
    if (missing.length || unknown.length) throw new Error('unexpected');
    return renderCompiled(compiled, values);
  };
  const regexOnce = () => TEMPLATE.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (_, n) => VALUES[n] ?? '');
  const loop = () => replaceLoop(TEMPLATE, VALUES);
  if (loamRender() !== loop() || regexOnce() !== loop()) throw new Error('renderers disagree');
  const ms = Number(process.env.BENCH_RENDER_MS ?? 2000);
  // Interleave the runs so drifting machine load hits every contender alike.
  const totals = { loam: 0, loop: 0, regex: 0 };
  for (let round = 0; round < 3; round++) {
    totals.loam += rate(loamRender, ms / 3);
    totals.loop += rate(loop, ms / 3);
    totals.regex += rate(regexOnce, ms / 3);
  }
  return { loam: Math.round(totals.loam / 3), loop: Math.round(totals.loop / 3), regex: Math.round(totals.regex / 3) };
}

async function load(autocannon, opts) {
  const result = await autocannon({ connections: 10, duration: Number(process.env.BENCH_DURATION ?? 10), ...opts });
  const errors = result.non2xx + result.errors + result.timeouts;
  if (errors > 0) throw new Error(`${opts.title}: ${errors} failed requests (non-2xx ${result.non2xx}, errors ${result.errors})`);
  return { rps: Math.round(result.requests.average), p99ms: result.latency.p99 };
}

async function main() {
  const json = process.argv.includes('--json');
  const renders = await renderRates();

  const { default: autocannon } = await import('autocannon');
  const body = JSON.stringify({ variables: VALUES });
  const headers = { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY };
  const loam = await startServer('--serve-loam');
  let http;
  try {
    http = await load(autocannon, {
      title: 'POST /prompts/{id}/render',
      url: `http://127.0.0.1:${loam.info.port}/prompts/${loam.info.promptId}/render`,
      method: 'POST',
      headers,
      body,
    });
  } finally {
    loam.child.disconnect();
  }
  const bare = await startServer('--serve-bare');
  let bareHttp;
  try {
    bareHttp = await load(autocannon, {
      title: 'bare render',
      url: `http://127.0.0.1:${bare.info.port}/render`,
      method: 'POST',
      headers,
      body,
    });
  } finally {
    bare.child.disconnect();
  }

  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`;
  const results = {
    rendersPerSec: renders,
    loamVsReplaceLoop: Math.round((renders.loam / renders.loop) * 100) / 100,
    httpRender: http,
    bareHttpRender: bareHttp,
    httpVsBare: Math.round((http.rps / bareHttp.rps) * 1000) / 1000,
  };
  if (json) {
    console.log(JSON.stringify({ bench: 'prompts', machine, ...results }));
    return;
  }
  console.log(`prompts benchmark — ${machine}; template ${Buffer.byteLength(TEMPLATE)} bytes, ${VARIABLES.length} variables`);
  console.table({
    'Loam renderer (compiled, with variable checks)': { 'renders/s': renders.loam },
    'String.replace loop (baseline)': { 'renders/s': renders.loop },
    'one regex replace with callback (baseline)': { 'renders/s': renders.regex },
  });
  console.log(`Loam renderer at ${results.loamVsReplaceLoop}× the String.replace loop`);
  console.table({
    'POST /prompts/{id}/render (auth + SQL + render)': { 'req/s': http.rps, 'p99 ms': http.p99ms },
    'bare Fastify POST rendering with String.replace': { 'req/s': bareHttp.rps, 'p99 ms': bareHttp.p99ms },
  });
  console.log(`HTTP render at ${(results.httpVsBare * 100).toFixed(1)}% of bare Fastify`);
}
