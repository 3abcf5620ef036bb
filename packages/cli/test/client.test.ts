import { spawn } from 'node:child_process';
/**
 * End-to-end tests of the `loam` client commands: the BUILT binary (packages/cli/bin/loam.mjs,
 * run `npm run build` first) against a real Loam listening on a socket.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, eventually } from '../../server/src/test/harness.js';
import { BIN, type Run, runLoam } from './run-loam.js';

let t: TestLoam;
let baseURL: string;
let home: string;
let llm: Server;

/**
 * Runs the built binary with a clean environment (no LOAM_* from the test runner) and a private
 * config dir. The server and admin key come from LOAM_API_BASE_URL / LOAM_API_KEY unless
 * `useProfile` is set (then only the stored profile tells where and who).
 */
function loam(args: string[], opts: { stdin?: string; env?: Record<string, string>; useProfile?: boolean } = {}): Promise<Run> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    XDG_CONFIG_HOME: join(home, 'config'),
    ...(opts.useProfile ? {} : { LOAM_API_BASE_URL: baseURL, LOAM_API_KEY: t.adminKey }),
    ...opts.env,
  };
  return runLoam(args, { env, cwd: home, stdin: opts.stdin });
}

/** Test double for a paid LLM API: Ollama's native /api/chat, streaming NDJSON. */
function startOllamaDouble(): Promise<string> {
  llm = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      const { messages, stream } = JSON.parse(raw) as { messages: { content: string }[]; stream?: boolean };
      const words = `echo: ${messages.at(-1)?.content}`.split(/(?<= )/);
      const done = {
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'stop',
        prompt_eval_count: 3,
        eval_count: words.length,
      };
      if (!stream) return res.end(JSON.stringify({ ...done, message: { role: 'assistant', content: words.join('') } }));
      for (const w of words) res.write(`${JSON.stringify({ message: { role: 'assistant', content: w }, done: false })}\n`);
      res.end(`${JSON.stringify(done)}\n`);
    });
  });
  return new Promise((r) => llm.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(llm.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm run build first`);
  home = mkdtempSync(join(tmpdir(), 'loam-cli-'));
  const ollamaUrl = await startOllamaDouble();
  // Pre-signed upload URLs name the server's public URL, so the port is chosen before listening.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  baseURL = `http://127.0.0.1:${port}`;
  t = await createTestLoam({ config: { rateLimitEnabled: false, ollamaUrl, ollamaModels: 'llama-test', publicUrl: baseURL } });
  t.loam.startBackground({ workers: 1, relay: true });
  await t.app.listen({ port, host: '127.0.0.1' });
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => llm?.close(r));
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('loam login', () => {
  it('stores the profile in $XDG_CONFIG_HOME/loam with mode 0600, and later commands use it', async () => {
    const login = await loam(['login', '--url', baseURL, '--api-key', t.adminKey], { useProfile: true });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    const file = join(home, 'config', 'loam', 'config.json');
    expect(login.stdout).toContain(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({
      default: 'default',
      profiles: { default: { baseURL, apiKey: t.adminKey } },
    });

    const keys = await loam(['keys', 'ls', '--json'], { useProfile: true });
    expect(keys.stderr).toBe('');
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.stdout).length).toBeGreaterThan(0);
  });

  it('reads the key from stdin with --api-key -, and a named profile is used with --profile', async () => {
    const login = await loam(['login', '--url', baseURL, '--api-key', '-', '--profile', 'piped'], {
      stdin: `${t.adminKey}\n`,
      useProfile: true,
    });
    expect(login.code).toBe(0);
    const file = JSON.parse(readFileSync(join(home, 'config', 'loam', 'config.json'), 'utf8'));
    expect(file.profiles.piped).toEqual({ baseURL, apiKey: t.adminKey });
    const keys = await loam(['keys', 'ls', '--profile', 'piped', '--json'], { useProfile: true });
    expect(keys.code).toBe(0);
    const missing = await loam(['keys', 'ls', '--profile', 'nobody'], { useProfile: true });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no profile 'nobody'/);
  });

  it('logs in with client credentials; the profile fetches tokens itself', async () => {
    const res = await fetch(`${baseURL}/admin/credentials`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': t.adminKey },
      body: JSON.stringify({ issued_to: 'cli-bot', scopes: ['ai:read'] }),
    });
    const cred = (await res.json()) as { client_id: string; client_secret: string };
    const bad = await loam(['login', '--url', baseURL, '--client-id', cred.client_id, '--client-secret', 'wrong', '--profile', 'bot'], {
      useProfile: true,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/invalid_client/);
    const login = await loam(
      [
        'login',
        '--url',
        baseURL,
        '--client-id',
        cred.client_id,
        '--client-secret',
        cred.client_secret,
        '--scope',
        'ai:read',
        '--profile',
        'bot',
      ],
      {
        useProfile: true,
      },
    );
    expect(login.code).toBe(0);
    const prompts = await loam(['prompts', 'ls', '--profile', 'bot', '--json'], { useProfile: true });
    expect(prompts.stderr).toBe('');
    expect(Array.isArray(JSON.parse(prompts.stdout))).toBe(true);
    const denied = await loam(['keys', 'ls', '--profile', 'bot'], { useProfile: true });
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/403/);
  });

  it('refuses a server that is not there, with one line and exit 1', async () => {
    const r = await loam(['login', '--url', 'http://127.0.0.1:1', '--api-key', 'x', '--profile', 'nowhere'], { useProfile: true });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^loam: .*not ready/);
  });
});

describe('errors and usage', () => {
  it('usage errors exit 2 with one line; API errors exit 1 with the server’s reason', async () => {
    const usage = await loam(['keys', 'revoke']);
    expect(usage.code).toBe(2);
    expect(usage.stderr.trim().split('\n')).toHaveLength(1);
    expect(usage.stderr).toBe("loam: missing required argument 'id' (usage: loam keys revoke [options] <id>)\n");

    const unknownFlag = await loam(['keys', 'ls', '--bogus']);
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toMatch(/^loam: unknown option '--bogus'/);

    const missing = await loam(['keys', 'revoke', 'key_nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^loam: .*\(404 not_found/);

    const unauthorized = await loam(['keys', 'ls'], { env: { LOAM_API_KEY: 'loam_sk_wrong' } });
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toMatch(/401/);
  });
});

describe('loam keys', () => {
  it('create, ls (aligned table), revoke', async () => {
    const created = await loam(['keys', 'create', 'cli-key', '--scope', 'ai:read', '--json']);
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key.key).toMatch(/^loam_sk_/);

    const human = await loam(['keys', 'create', 'cli-key-2', '--scope', 'ai:read']);
    expect(human.stdout).toMatch(/^id\s+key_/m);
    expect(human.stdout).toContain('not shown again');

    const ls = await loam(['keys', 'ls']);
    const lines = ls.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+PREFIX\s+SCOPES/);
    const row = lines.find((l) => l.includes(key.id))!;
    // Columns are aligned: NAME starts at the same offset in the header and the row.
    expect(row.indexOf('cli-key')).toBe(lines[0].indexOf('NAME'));

    // `list` is `ls` under another name.
    const listed = await loam(['keys', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(ls.stdout);

    const revoked = await loam(['keys', 'revoke', key.id]);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`Revoked ${key.id}`);
    const after = JSON.parse((await loam(['keys', 'ls', '--json'])).stdout) as { id: string; revoked_at: string | null }[];
    expect(after.find((k) => k.id === key.id)?.revoked_at).toBeTruthy();
  });
});

describe('loam bus', () => {
  it('send prints the stored message; tail --after 0 follows the session until Ctrl-C', async () => {
    const sent = await loam(['bus', 'send', 'cli:1', '{"text":"hello"}', '--type', 'said', '--json']);
    expect(sent.code).toBe(0);
    expect(JSON.parse(sent.stdout)[0]).toMatchObject({ position: 1, type: 'said', data: { text: 'hello' } });
    expect((await loam(['bus', 'send', 'cli:1', 'not json'])).code).toBe(2);
    const env = {
      PATH: process.env.PATH ?? '',
      XDG_CONFIG_HOME: join(home, 'config'),
      LOAM_API_BASE_URL: baseURL,
      LOAM_API_KEY: t.adminKey,
    };
    const child = spawn(process.execPath, [BIN, 'bus', 'tail', 'cli:1', '--after', '0', '--json'], { env, cwd: home });
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    await eventually(() => out.includes('"position":1'));
    await loam(['bus', 'send', 'cli:1', '{"text":"live"}']);
    await eventually(() => out.includes('"position":2'));
    child.kill('SIGINT');
    const code = await new Promise((r) => child.once('close', r));
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((m) => m.data.text)).toEqual(['hello', 'live']);
    const ls = await loam(['bus', 'ls', '--json']);
    expect(JSON.parse(ls.stdout)).toEqual([expect.objectContaining({ id: 'cli:1', head: 2 })]);
  });
});

describe('loam prompts', () => {
  it('push (create, then new version), ls, get, render, generate (streamed)', async () => {
    const file = join(home, 'greet.md');
    writeFileSync(file, 'Say hello to {{name}}');
    const pushed = await loam(['prompts', 'push', file, '--model', 'llama-test', '--json']);
    expect(pushed.code).toBe(0);
    const prompt = JSON.parse(pushed.stdout);
    expect(prompt).toMatchObject({ name: 'greet', version: 1, variables: [{ name: 'name', required: true }] });

    writeFileSync(file, 'Say hi to {{name}}');
    const again = await loam(['prompts', 'push', file]);
    expect(again.stdout).toContain(`Updated ${prompt.id} 'greet' version 2`);

    const ls = await loam(['prompts', 'ls']);
    expect(ls.stdout).toMatch(/^ID\s+NAME\s+VERSION/);
    expect(ls.stdout).toContain('greet');

    const v1 = await loam(['prompts', 'get', prompt.id, '--version', '1']);
    expect(v1.stdout).toContain('Say hello to {{name}}');

    const rendered = await loam(['prompts', 'render', prompt.id, '--var', 'name=Ada']);
    expect(rendered.stdout).toBe('Say hi to Ada\n');
    const badVar = await loam(['prompts', 'render', prompt.id, '--var', 'oops']);
    expect(badVar.code).toBe(2);

    const generated = await loam(['prompts', 'generate', prompt.id, '--var', 'name=Ada']);
    expect(generated.stderr).toBe('');
    expect(generated.stdout).toBe('echo: Say hi to Ada\n');
    const json = JSON.parse((await loam(['prompts', 'generate', prompt.id, '--var', 'name=Ada', '--json'])).stdout);
    expect(json).toMatchObject({ text: 'echo: Say hi to Ada', provider: 'ollama' });
  });
});

describe('loam pii', () => {
  it('analyze and anonymize from stdin and from a file', async () => {
    const text = 'Contact ada@example.com please';
    const analyzed = await loam(['pii', 'analyze'], { stdin: text });
    expect(analyzed.code).toBe(0);
    expect(analyzed.stdout).toMatch(/^TYPE\s+START\s+END/);
    expect(analyzed.stdout).toMatch(/EMAIL_ADDRESS\s+8\s+23/);

    const file = join(home, 'note.txt');
    writeFileSync(file, text);
    const anonymized = await loam(['pii', 'anonymize', file]);
    expect(anonymized.stdout).toBe('Contact <EMAIL_ADDRESS> please\n');
    const masked = await loam(['pii', 'anonymize', '-', '--operator', 'EMAIL_ADDRESS=redact', '--json'], { stdin: text });
    expect(JSON.parse(masked.stdout).text).toBe('Contact  please');
  });
});

describe('loam ingest and content', () => {
  it('ingest text (argument and stdin), content ls/get/text/rm', async () => {
    const inline = await loam(['ingest', 'text', 'Loam', 'keeps', 'data', 'close', '--meta', 'source=cli', '--wait', '--json']);
    expect(inline.code).toBe(0);
    const item = JSON.parse(inline.stdout);
    expect(item).toMatchObject({ status: 'COMPLETED', metadata: { source: 'cli' } });

    const piped = await loam(['ingest', 'text', '-'], { stdin: 'text from stdin' });
    expect(piped.stdout).toMatch(/^\S+\s+(PENDING|PROCESSING|COMPLETED)$/m);

    expect((await loam(['content', 'text', item.id])).stdout).toBe('Loam keeps data close\n');
    const got = await loam(['content', 'get', item.id]);
    expect(got.stdout).toMatch(/^status\s+COMPLETED$/m);

    const ls = await loam(['content', 'ls', '--status', 'completed']);
    expect(ls.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS\s+SOURCETYPE/);
    expect(ls.stdout).toContain(item.id);

    const rm = await loam(['content', 'rm', item.id]);
    expect(rm.code).toBe(0);
    const gone = await loam(['content', 'get', item.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/404 not_found/);

    // `delete` is `rm` under another name.
    const other = JSON.parse((await loam(['ingest', 'text', 'short-lived', '--json'])).stdout);
    const deleted = await loam(['content', 'delete', other.id]);
    expect(deleted.stdout).toBe(`Deleted ${other.id}\n`);
    expect((await loam(['content', 'get', other.id])).code).toBe(1);
  });

  it('ingest file uploads with progress and waits for COMPLETED', async () => {
    const file = join(home, 'notes.md');
    writeFileSync(file, `# Notes\n\n${'Loam stores files. '.repeat(2000)}`);
    const r = await loam(['ingest', 'file', file, '--wait']);
    expect(r.code).toBe(0);
    // Not a terminal: the bar prints only its final state, on stderr.
    expect(r.stderr).toMatch(/^uploading notes\.md \[#{24}\] 100% 37\.\d KiB\/37\.\d KiB$/m);
    expect(r.stdout).toMatch(/^status\s+COMPLETED$/m);
    expect(r.stdout).toMatch(/^contentType\s+text\/markdown$/m);

    const missing = await loam(['ingest', 'file', join(home, 'nope.pdf')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`loam: no such file: ${join(home, 'nope.pdf')}\n`);
  });
});

describe('loam datasets and records', () => {
  it('datasets create/ls/get/stats, records import with progress, records export to stdout', async () => {
    const schema = join(home, 'schema.json');
    writeFileSync(
      schema,
      JSON.stringify({
        fields: [
          { name: 'name', type: 'string', required: true },
          { name: 'age', type: 'integer', required: false },
        ],
      }),
    );
    const created = await loam(['datasets', 'create', 'people', '--schema', schema, '--classification', 'internal', '--json']);
    expect(created.code).toBe(0);
    const ds = JSON.parse(created.stdout);
    expect(ds).toMatchObject({ name: 'people', classification: 'internal' });

    const ls = await loam(['datasets', 'ls']);
    expect(ls.stdout).toMatch(/^ID\s+NAME\s+CLASSIFICATION/);
    expect(ls.stdout).toContain('people');
    expect((await loam(['datasets', 'get', ds.id])).stdout).toMatch(/^name\s+people$/m);

    const data = join(home, 'people.ndjson');
    writeFileSync(
      data,
      `${Array.from({ length: 50 }, (_, i) => JSON.stringify({ id: `p${i}`, name: `person ${i}`, age: 20 + i })).join('\n')}\n`,
    );
    const imp = await loam(['records', 'import', ds.id, data]);
    expect(imp.code).toBe(0);
    expect(imp.stderr).toMatch(/^uploading people\.ndjson \[#{24}\] 100%/m);
    // The import bar counts the file's lines, not bytes.
    expect(imp.stderr).toMatch(/^importing \[#{24}\] 100% 50\/50 lines$/m);
    expect(imp.stdout).toMatch(/^processed\s+50$/m);

    // A CSV's header and blank lines are not lines to import.
    const csv = join(home, 'more-people.csv');
    writeFileSync(csv, 'id,name,age\nq1,Ann,30\n\nq2,Bob,31\nq3,Cy,32\n');
    const csvImp = await loam(['records', 'import', ds.id, csv]);
    expect(csvImp.code, csvImp.stderr).toBe(0);
    expect(csvImp.stderr).toMatch(/^importing \[#{24}\] 100% 3\/3 lines$/m);
    const quiet = await loam(['records', 'import', ds.id, csv, '--no-progress']);
    expect(quiet.stderr).toBe('');

    const stats = await loam(['datasets', 'stats', ds.id]);
    expect(stats.stdout).toMatch(/^53 records, /);
    expect(stats.stdout).toMatch(/^age\s+integer\s+0\s+\d+\s+20\s+69/m);

    const exp = await loam(['records', 'export', ds.id]);
    expect(exp.code).toBe(0);
    const lines = exp.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(53);
    expect(lines[0]).toMatchObject({ id: 'p0' });
    expect(exp.stderr).toMatch(/^exporting \d/m);
  });
});
