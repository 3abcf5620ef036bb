#!/usr/bin/env node
// Starts a throw-away Loam for the SDK test suites (Python, Go, Rust) and prints one JSON line
// on stdout once it is ready: {"url": "http://127.0.0.1:<port>", "api_key": "<admin key>", "pid": <pid>}.
// The server (its own temp data directory, a free port, raised rate limits) lives until this
// process gets SIGTERM/SIGINT or its stdin closes, then it is stopped and the directory removed.
//
//   node sdks/testserver.mjs            # needs `npm run build` first (packages/cli/bin/loam.mjs)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(code);
  });
}
child.once('exit', (code) => {
  if (!stopping) {
    console.error(`testserver: loam exited early with code ${code}`);
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
if (!stopping) process.stdout.write(`${JSON.stringify({ url, api_key: apiKey, pid: child.pid })}\n`);
