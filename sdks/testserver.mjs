#!/usr/bin/env node
// Starts a throw-away Loam for the SDK test suites (Python, Go, Rust) and prints one JSON line
// on stdout once it is ready: {"url": "http://127.0.0.1:<port>", "api_key": "<admin key>", "pid": <pid>}.
// The server (its own temp data directory, a free port, raised rate limits) lives until this
// process gets SIGTERM/SIGINT or its stdin closes, then it is stopped and the directory removed.
// Its one LLM provider `double` (models in "llm_models" of that line) is a local OpenAI-compatible
// test double run by this process (sdks/llm-double.mjs). Extra server settings: `--env NAME=VALUE`.
//
//   node sdks/testserver.mjs            # needs `npm run build` first (packages/cli/bin/loam.mjs)
//   node sdks/testserver.mjs --env LOAM_LLM_DAILY_TOKEN_QUOTA=100
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LLM_DOUBLE_MODELS, startLlmDouble } from './llm-double.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `--env NAME=VALUE` arguments: more settings for the server. */
function extraEnv(args) {
  const env = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] === '--env' ? args[++i] : args[i].startsWith('--env=') ? args[i].slice(6) : undefined;
    const eq = arg?.indexOf('=') ?? -1;
    if (!arg || eq < 1) {
      console.error(`testserver: unknown argument ${args[i]} (use --env NAME=VALUE)`);
      process.exit(2);
    }
    env[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return env;
}

const extra = extraEnv(process.argv.slice(2));
const llm = await startLlmDouble();
const port = await freePort();
const dataDir = mkdtempSync(join(tmpdir(), 'loam-sdk-test-'));
const apiKey = `loam_sk_test_${randomBytes(16).toString('hex')}`;
const url = `http://127.0.0.1:${port}`;
const child = spawn(process.execPath, [join(root, 'packages/cli/bin/loam.mjs'), 'serve'], {
  cwd: root,
  env: {
    ...process.env,
    LOAM_HOST: '127.0.0.1',
    LOAM_PORT: String(port),
    LOAM_DATA_DIR: dataDir,
    LOAM_ADMIN_API_KEY: apiKey,
    LOAM_RATE_LIMIT_MULTIPLIER: '1000',
    LOAM_LOG_LEVEL: process.env.LOAM_TEST_LOG_LEVEL ?? 'warn',
    LOAM_JOB_POLL_MS: '50',
    // The SDK suites wait for a purge run to see 410s: every second, not every minute.
    LOAM_BUS_PURGE_INTERVAL_MS: '1000',
    LOAM_LLM_PROVIDERS: JSON.stringify([
      { name: 'double', kind: 'openai', baseUrl: `${llm.url}/v1`, apiKey: 'test-key', models: LLM_DOUBLE_MODELS },
    ]),
    LOAM_LLM_MAX_RETRIES: '0',
    ...extra,
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 5000);
  child.once('exit', () => {
    clearTimeout(force);
    llm.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(code);
  });
}
child.once('exit', (code) => {
  if (!stopping) {
    console.error(`testserver: loam exited early with code ${code}`);
    llm.close();
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(1);
  }
});
process.on('SIGTERM', () => stop());
process.on('SIGINT', () => stop());
process.stdin.on('end', () => stop());
process.stdin.on('close', () => stop());
process.stdin.resume();

const deadline = Date.now() + 60_000;
for (;;) {
  try {
    const res = await fetch(`${url}/readyz`);
    if (res.ok) break;
  } catch {}
  if (Date.now() > deadline) {
    console.error('testserver: loam did not become ready within 60 s');
    stop(1);
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
if (!stopping) process.stdout.write(`${JSON.stringify({ url, api_key: apiKey, pid: child.pid, llm_models: LLM_DOUBLE_MODELS })}\n`);
