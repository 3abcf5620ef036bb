/**
 * The built `loam` binary (the bundle `npm start` and the `loam` bin run), run as a user runs it:
 * a child process with LOAM_* variables. CI builds before testing; when the bundle is missing, it
 * is built here first.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NATS_URL, POSTGRES_URL, REDIS_URL, createPostgresDatabase, describeWith } from '../../server/src/test/harness.js';
import { BIN, runLoam } from './run-loam.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'loam-cli-'));
  dirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => res(port));
    });
  });
}

/** Only LOAM_* from the test's own choosing, so a developer's environment cannot leak in. */
function envWith(vars: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LOAM_')));
  return { ...base, LOAM_LOG_LEVEL: 'info', LOAM_JOB_POLL_MS: '50', ...vars };
}

const run = (args: string[], vars: Record<string, string>) => runLoam(args, { env: envWith(vars), cwd: ROOT });

/** A `loam serve` process and the output it printed so far. */
class Server {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  constructor(
    readonly port: number,
    vars: Record<string, string>,
    command = 'serve',
  ) {
    this.child = spawn(process.execPath, [BIN, command], { env: envWith({ ...vars, LOAM_PORT: String(port) }), cwd: ROOT });
    this.child.stdout?.on('data', (d) => {
      this.stdout += d;
    });
    this.child.stderr?.on('data', (d) => {
      this.stderr += d;
    });
    this.exited = new Promise((res) => this.child.on('exit', (code) => res(code)));
  }
  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
  async ready(timeoutMs = STARTUP_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`loam exited ${this.child.exitCode}: ${this.stderr}${this.stdout}`);
      try {
        if ((await fetch(this.url('/readyz'))).status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`not ready within ${timeoutMs} ms: ${this.stderr}${this.stdout}`);
  }
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
  logLines(): { msg?: string; [k: string]: unknown }[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  }
}

const servers: Server[] = [];
async function serve(vars: Record<string, string>, command = 'serve'): Promise<Server> {
  const s = new Server(await freePort(), vars, command);
  servers.push(s);
  return s;
}

const KEY_IN_BANNER = /(loam_sk_[0-9A-Za-z]{40})/;
// Generous: a start-up on a loaded CI machine can take many seconds; the tests wait for readiness.
const STARTUP_MS = 60_000;
const SLOW = { timeout: 180_000 };

beforeAll(() => {
  if (!existsSync(join(ROOT, 'packages/cli/dist/loam.mjs'))) execSync('npm run build', { cwd: ROOT, stdio: 'inherit' });
}, 180_000);

afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('loam (built CLI)', () => {
  it('prints usage without a command, and refuses an unknown one', async () => {
    const none = await run([], {});
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/Usage: loam <command>/);
    const bad = await run(['frobnicate'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/frobnicate/);
  });

  it('loam migrate applies the migrations once, then reports the database is up to date', SLOW, async () => {
    const dir = tempDir();
    const first = await run(['migrate'], { LOAM_DATA_DIR: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/applied \d+ migration\(s\):/);
    expect(first.stdout).toContain('platform/001_init');
    expect(first.stdout).toContain('apikeys/001_api_keys');
    // Modules run in registration order: the platform's tables exist before those that reference them.
    expect(first.stdout.indexOf('platform/001_init')).toBeLessThan(first.stdout.indexOf('apikeys/001_api_keys'));
    expect(existsSync(join(dir, 'loam.db'))).toBe(true);
    const second = await run(['migrate'], { LOAM_DATA_DIR: dir });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('database is up to date');
  });

  it('bad configuration: exit 1 with a message naming the variable', SLOW, async () => {
    const res = await run(['serve'], { LOAM_PORT: 'abc', LOAM_DATA_DIR: tempDir() });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/LOAM_PORT/);
    expect(res.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
  });

  it('configuration mistakes get one line each: enum values listed, bad database URL, incomplete KMS', SLOW, async () => {
    const oneLine = (stderr: string) => {
      expect(stderr).not.toMatch(/\n\s+at /);
      expect(stderr.trim().split('\n')).toHaveLength(1);
    };
    const level = await run(['migrate'], { LOAM_LOG_LEVEL: 'verbose', LOAM_DATA_DIR: tempDir() });
    expect(level.code).toBe(1);
    expect(level.stderr).toMatch(/LOAM_LOG_LEVEL.*fatal, error, warn, info, debug, trace, silent/);
    oneLine(level.stderr);
    for (const url of ['mysql://db/loam', 'postgres//nohost']) {
      const db = await run(['migrate'], { LOAM_DATABASE_URL: url, LOAM_DATA_DIR: tempDir() });
      expect(db.code, url).toBe(1);
      expect(db.stderr).toMatch(/LOAM_DATABASE_URL/);
      oneLine(db.stderr);
    }
    const unreachable = await run(['migrate'], {
      LOAM_DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/x`,
      LOAM_DATA_DIR: tempDir(),
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/LOAM_DATABASE_URL.*ECONNREFUSED/);
    oneLine(unreachable.stderr);
    const vault = await run(['migrate'], { LOAM_KMS_PROVIDER: 'vault', LOAM_DATA_DIR: tempDir() });
    expect(vault.code).toBe(1);
    expect(vault.stderr).toMatch(/LOAM_VAULT_ADDR/);
    oneLine(vault.stderr);
    const aws = await run(['migrate'], { LOAM_KMS_PROVIDER: 'aws-kms', LOAM_DATA_DIR: tempDir() });
    expect(aws.code).toBe(1);
    expect(aws.stderr).toMatch(/LOAM_AWS_KMS_KEY_ID/);
    oneLine(aws.stderr);
  });

  it('an unknown LOAM_* variable gets a warning naming the closest known one', SLOW, async () => {
    const res = await run(['migrate'], { LOAM_PROT: '9000', LOAM_DATA_DIR: tempDir() });
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/LOAM_PROT.*did you mean LOAM_PORT\?/);
  });

  it('loam serve: prints the admin key once on first start, not on the next; the key works', SLOW, async () => {
    const dir = tempDir();
    const first = await serve({ LOAM_DATA_DIR: dir });
    await first.ready();
    const key = KEY_IN_BANNER.exec(first.stderr)?.[1];
    expect(key, first.stderr).toBeDefined();
    // The secret is printed only in the banner, never in the JSON logs.
    expect(first.stdout).not.toContain(key as string);
    const me = await fetch(first.url('/api/v1/whoami'), { headers: { 'x-api-key': key as string } });
    expect(me.status).toBe(200);
    expect((await me.json()).data).toMatchObject({ tenant_id: 'default', kind: 'api_key' });
    // The configuration is logged at start: values other than the defaults, secrets redacted.
    const starting = first.logLines().find((l) => l.msg === 'starting loam');
    expect(starting?.config).toMatchObject({ port: first.port, dataDir: dir });
    expect((starting?.config as Record<string, unknown> | undefined)?.host).toBeUndefined();
    expect(await first.stop()).toBe(0);

    const second = await serve({ LOAM_DATA_DIR: dir });
    await second.ready();
    expect(second.stderr).not.toMatch(KEY_IN_BANNER);
    expect((await fetch(second.url('/api/v1/whoami'), { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    expect(await second.stop()).toBe(0);
  });

  it('LOAM_ADMIN_API_KEY on first start becomes the admin key, and nothing is printed', SLOW, async () => {
    const chosen = 'operator-chosen-admin-key-0123456789';
    const s = await serve({ LOAM_DATA_DIR: tempDir(), LOAM_ADMIN_API_KEY: chosen });
    await s.ready();
    expect(s.stderr).not.toMatch(KEY_IN_BANNER);
    expect(s.stderr + s.stdout).not.toContain(chosen);
    expect((await fetch(s.url('/api/v1/api-keys'), { headers: { 'x-api-key': chosen } })).status).toBe(200);
    expect((await fetch(s.url('/api/v1/api-keys'), { headers: { 'x-api-key': `${chosen}x` } })).status).toBe(401);
    expect(await s.stop()).toBe(0);
  });

  it('SIGTERM: an in-flight request completes, then the process exits 0', SLOW, async () => {
    const admin = 'cli-test-admin-key-abcdefghijklmnopqrstuvwxyz';
    const s = await serve({ LOAM_DATA_DIR: tempDir(), LOAM_ADMIN_API_KEY: admin, LOAM_SHUTDOWN_TIMEOUT_MS: '5000' });
    await s.ready();
    const body = JSON.stringify({ name: 'created during shutdown', scopes: ['storage'] });
    // A request whose body is still arriving when the signal comes.
    const response = new Promise<{ status: number; body: string }>((res, rej) => {
      const req = httpRequest(
        s.url('/api/v1/api-keys'),
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-api-key': admin },
        },
        (r) => {
          let text = '';
          r.on('data', (d) => {
            text += d;
          });
          r.on('end', () => res({ status: r.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', rej);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        s.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const done = await response;
    expect(done.status, done.body).toBe(201);
    expect(JSON.parse(done.body).data.name).toBe('created during shutdown');
    expect(await s.exited).toBe(0);
    const msgs = s.logLines().map((l) => l.msg);
    expect(msgs).toContain('shutting down');
    expect(msgs).toContain('stopped');
    // New connections are refused once it has stopped.
    await expect(fetch(s.url('/healthz'))).rejects.toThrow();
  });

  it('stops on SIGTERM when the reader of its stdout has gone (broken pipe)', SLOW, async () => {
    const s = await serve({ LOAM_DATA_DIR: tempDir() });
    await s.ready();
    s.child.stdout?.destroy(); // its next log line, the shutdown's first, fails with EPIPE
    await new Promise((r) => setTimeout(r, 100));
    const exited = await Promise.race([s.stop(), new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
    if (exited === 'still running') s.child.kill('SIGKILL');
    expect(exited).toBe(0);
  });

  it('under npm start, a SIGTERM that stops at npm’s shell still stops Loam gracefully', SLOW, async () => {
    const port = await freePort();
    // What `npm start` runs: the script in a shell, which exits on SIGTERM without passing it on.
    const shell = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" serve; echo shell-done`], {
      env: envWith({ LOAM_DATA_DIR: tempDir(), LOAM_PORT: String(port), npm_lifecycle_event: 'start' }),
      cwd: ROOT,
    });
    let out = '';
    shell.stdout.on('data', (d) => {
      out += d;
    });
    const closed = new Promise((res) => shell.stdout.on('close', res)); // when Loam, the last writer, is gone
    const url = `http://127.0.0.1:${port}/readyz`;
    for (let i = 0; i < STARTUP_MS / 50; i++) {
      if (
        await fetch(url).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    shell.kill('SIGTERM');
    const stopped = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 15_000))]);
    expect(stopped).toBe(true);
    expect(out).toContain('"msg":"stopped"');
    expect(out).not.toContain('shell-done');
    await expect(fetch(url)).rejects.toThrow();
  });

  it('npm start and the loam bin run the binary tested here', () => {
    const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8'));
    expect(json('package.json').scripts.start).toBe('node packages/cli/bin/loam.mjs serve');
    expect(join(ROOT, 'packages/cli', json('packages/cli/package.json').bin.loam)).toBe(BIN);
  });

  // The bundle leaves out what Loam loads on first use; node loads it from node_modules then.
  it('loam serve loads on first use: the OpenAPI document, Swagger UI, PII detection, extraction', SLOW, async () => {
    const admin = 'cli-test-lazy-admin-key-abcdefghijklmnopqrstuvwxyz';
    const s = await serve({ LOAM_DATA_DIR: tempDir(), LOAM_ADMIN_API_KEY: admin });
    await s.ready();
    expect((await (await fetch(s.url('/openapi.json'))).json()).openapi).toMatch(/^3\.1/);
    expect(await (await fetch(s.url('/docs/'))).text()).toMatch(/swagger/i);
    const client = { LOAM_API_BASE_URL: s.url(''), LOAM_API_KEY: admin };
    const file = join(tempDir(), 'note.txt');
    writeFileSync(file, 'Call John Smith at john.smith@example.com.');
    const pii = await run(['pii', 'analyze', file, '--json'], client);
    expect(pii.code, pii.stderr).toBe(0);
    const found: { type: string }[] = JSON.parse(pii.stdout).entities;
    expect(found.map((e) => e.type).sort()).toEqual(['EMAIL_ADDRESS', 'PERSON']);
    const text = 'Le chat est sur la table et il regarde les oiseaux dans le jardin depuis ce matin.';
    const ingested = await run(['ingest', 'text', text, '--wait', '--json'], client);
    expect(ingested.code, ingested.stderr).toBe(0);
    expect(JSON.parse(ingested.stdout)).toMatchObject({ status: 'COMPLETED', language: 'fr', wordCount: 17 });
    expect(await s.stop()).toBe(0);
  });

  it('loam worker runs without HTTP and stops cleanly on SIGTERM', SLOW, async () => {
    const dir = tempDir();
    expect((await run(['migrate'], { LOAM_DATA_DIR: dir })).code).toBe(0);
    const w = await serve({ LOAM_DATA_DIR: dir, LOAM_ADMIN_API_KEY: 'worker-test-admin-key-0123456789abcdef' }, 'worker');
    const deadline = Date.now() + STARTUP_MS;
    while (!w.stdout.includes('"worker running"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(w.logLines().map((l) => l.msg)).toContain('worker running');
    await expect(fetch(w.url('/healthz'))).rejects.toThrow();
    expect(await w.stop()).toBe(0);
    expect(w.logLines().map((l) => l.msg)).toContain('stopped');
  });
});

describeWith(
  POSTGRES_URL && REDIS_URL && NATS_URL,
  'PostgreSQL, Redis and NATS (set LOAM_TEST_POSTGRES_URL, LOAM_TEST_REDIS_URL, LOAM_TEST_NATS_URL)',
  'loam serve (built CLI) on PostgreSQL, Redis and NATS',
  () => {
    it('starts on their drivers, loaded at run time, and answers', SLOW, async () => {
      const db = await createPostgresDatabase();
      try {
        const admin = 'cli-test-scaleout-admin-key-abcdefghijklmnopqrstuvwxyz';
        const s = await serve({
          LOAM_DATA_DIR: tempDir(),
          LOAM_DATABASE_URL: db.url,
          LOAM_REDIS_URL: REDIS_URL,
          LOAM_NATS_URL: NATS_URL,
          LOAM_ADMIN_API_KEY: admin,
        });
        await s.ready();
        const me = await fetch(s.url('/api/v1/whoami'), { headers: { 'x-api-key': admin } });
        expect(me.status).toBe(200);
        expect(await s.stop()).toBe(0);
      } finally {
        await db.drop();
      }
    });
  },
);
