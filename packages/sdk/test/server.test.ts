/**
 * The SDK against a real Loam (SQLite, temp dir) listening on a real socket: every resource
 * method whose server route exists, pagination across pages, uploads and streaming.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { Loam as NodeLoam } from '../src/node.js';
import {
  APIError,
  AuthenticationError,
  ContentProcessingError,
  ConflictError,
  Loam,
  NotFoundError,
  PermissionDeniedError,
  ValidationError,
} from '../src/index.js';

/** Test double for a paid LLM API: a local server speaking Ollama's native /api/chat protocol. */
class OllamaDouble {
  private server!: Server;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      if (req.method === 'GET') {
        // Doubles as the fixture web page for URL ingestion.
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(
          '<html><head><title>Fixture page</title></head><body><article><h1>Fixture page</h1><p>Loam fetched this page over HTTP and extracted its main text for the SDK test.</p></article></body></html>',
        );
      }
      let raw = '';
      req.on('data', (c) => {
        raw += c;
      });
      req.on('end', () => {
        const body = JSON.parse(raw) as { stream?: boolean; messages: { content: string }[] };
        const prompt = body.messages.at(-1)?.content ?? '';
        const words = `echo: ${prompt}`.split(/(?<= )/);
        if (!body.stream) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(
            JSON.stringify({
              message: { role: 'assistant', content: words.join('') },
              done: true,
              done_reason: 'stop',
              prompt_eval_count: 4,
              eval_count: words.length,
            }),
          );
        }
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        for (const w of words) res.write(`${JSON.stringify({ message: { role: 'assistant', content: w }, done: false })}\n`);
        res.end(
          `${JSON.stringify({ message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', prompt_eval_count: 4, eval_count: words.length })}\n`,
        );
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

let t: TestLoam;
let loam: Loam;
let baseURL: string;
const ollama = new OllamaDouble();

/** A free TCP port: pre-signed URLs name the server's public URL, so it must be known before listening. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  await ollama.start();
  const port = await freePort();
  baseURL = `http://127.0.0.1:${port}`;
  t = await createTestLoam({ config: { rateLimitEnabled: false, ollamaUrl: ollama.url, ollamaModels: 'llama-test', publicUrl: baseURL } });
  t.loam.startBackground({ workers: 1, relay: true });
  await t.app.listen({ port, host: '127.0.0.1' });
  loam = new Loam({ baseURL, apiKey: t.adminKey });
});
afterAll(async () => {
  await t?.close();
  await ollama.stop();
});

/** The newest development-mailbox message to `to`, and the 6-digit code in it. */
async function mailedCode(to: string): Promise<string> {
  const { data } = await loam.request<{ data: { to: string; text: string }[] }>('GET', '/api/v1/admin/mailbox', { query: { to } });
  const code = /\b(\d{6})\b/.exec(data[0]?.text ?? '')?.[1];
  if (!code) throw new Error(`no code mailed to ${to}`);
  return code;
}

describe('system', () => {
  it('healthCheck: ready', async () => {
    const health = await loam.healthCheck();
    expect(health).toMatchObject({ ok: true, status: 'ready' });
    expect(health.checks?.database.ok).toBe(true);
  });

  it('maps the server’s real errors to typed classes in both formats', async () => {
    await expect(loam.apiKeys.get('key_missing')).rejects.toBeInstanceOf(NotFoundError); // problem+json
    await expect(loam.credentials.get('missing')).rejects.toMatchObject({ status: 404, code: 'not_found' }); // Atriumn
    const bad = new Loam({ baseURL, apiKey: 'loam_sk_not_a_real_key', maxRetries: 0 });
    await expect(bad.apiKeys.list()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(loam.apiKeys.create({ name: '', scopes: [] })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('apiKeys', () => {
  it('create, get, list across pages, rotate, revoke', async () => {
    const created = await Promise.all(['a', 'b', 'c', 'd'].map((n) => loam.apiKeys.create({ name: `sdk-${n}`, scopes: ['ai:read'] })));
    expect(created[0].key).toMatch(/^loam_sk_/);
    expect((await loam.apiKeys.get(created[0].id)).name).toBe('sdk-a');

    const first = await loam.apiKeys.list({ limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.hasNextPage()).toBe(true);
    let pages = 0;
    for await (const page of loam.apiKeys.list({ limit: 2 }).pages()) {
      pages++;
      expect(page.items.length).toBeLessThanOrEqual(2);
    }
    const all = await loam.apiKeys.list({ limit: 2 }).toArray();
    expect(all.length).toBeGreaterThanOrEqual(5); // four new keys plus the bootstrap admin key
    expect(pages).toBe(Math.ceil(all.length / 2));
    expect(new Set(all.map((k) => k.id)).size).toBe(all.length);

    const asKey = new Loam({ baseURL, apiKey: created[1].key, maxRetries: 0 });
    await expect(asKey.prompts.list().toArray()).resolves.toBeInstanceOf(Array);
    const rotated = await loam.apiKeys.rotate(created[1].id);
    expect(rotated.key).not.toBe(created[1].key);
    await expect(asKey.prompts.list().toArray()).rejects.toBeInstanceOf(AuthenticationError);

    await loam.apiKeys.revoke(created[2].id);
    const revoked = new Loam({ baseURL, apiKey: created[2].key, maxRetries: 0 });
    await expect(revoked.prompts.list().toArray()).rejects.toBeInstanceOf(AuthenticationError);
  });
});

describe('auth', () => {
  const email = 'ada@example.com';
  const password = 'correct horse battery staple';

  it('signup, confirm, resend, login, me, logout', async () => {
    const { user_id } = await loam.auth.signup({ email, password, attributes: { department: 'research' } });
    expect(user_id).toBeTruthy();
    await expect(loam.auth.signup({ email, password })).rejects.toBeInstanceOf(ConflictError);
    await expect(loam.auth.login({ username: email, password })).rejects.toMatchObject({ status: 403, code: 'not_confirmed' });

    const resent = await loam.auth.resend({ username: email });
    expect(resent.codeDeliveryDetails).toMatchObject({ delivery_medium: 'EMAIL', attribute_name: 'email' });
    await expect(loam.auth.confirm({ username: email, confirmation_code: await mailedCode(email) })).resolves.toEqual({ status: 'ok' });

    await expect(loam.auth.login({ username: email, password: 'wrong password!' })).rejects.toBeInstanceOf(AuthenticationError);
    const tokens = await loam.auth.login({ username: email, password });
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600 });
    expect(tokens.refresh_token).toBeTruthy();

    const me = await loam.auth.me(tokens.access_token);
    expect(me.attributes).toMatchObject({ email, email_verified: 'true', department: 'research' });
    const asAda = loam.withOptions({ accessToken: tokens.access_token });
    expect((await asAda.auth.me()).username).toBe(email);

    await expect(loam.auth.logout({ access_token: tokens.access_token })).resolves.toEqual({ status: 'ok' });
    await expect(loam.auth.me(tokens.access_token)).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('passwordReset and passwordConfirm', async () => {
    const reset = await loam.auth.passwordReset({ email });
    expect(reset.code_delivery_details.delivery_medium).toBe('EMAIL');
    const newPassword = 'an entirely new passphrase';
    await expect(loam.auth.passwordConfirm({ email, code: await mailedCode(email), new_password: newPassword })).resolves.toEqual({
      status: 'ok',
    });
    await expect(loam.auth.login({ username: email, password })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(loam.auth.login({ username: email, password: newPassword })).resolves.toHaveProperty('access_token');
  });
});

describe('credentials and client-credentials clients', () => {
  it('create, list, get, update, token, delete', async () => {
    const cred = await loam.credentials.create({ issued_to: 'sdk-bot', scopes: ['ai:read', 'ai:write'], description: 'tests' });
    expect(cred.client_secret).toBeTruthy();
    const { credentials } = await loam.credentials.list({ issuedTo: 'sdk-bot' });
    expect(credentials.map((c) => c.id)).toEqual([cred.id]);
    expect((await loam.credentials.get(cred.id)).scopes).toEqual(['ai:read', 'ai:write']);

    const token = await loam.auth.token({
      grant_type: 'client_credentials',
      client_id: cred.client_id,
      client_secret: cred.client_secret,
      scope: 'ai:read',
    });
    expect(token).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'ai:read' });

    const bot = new Loam({ baseURL, clientCredentials: { clientId: cred.client_id, clientSecret: cred.client_secret, scope: 'ai:read' } });
    await Promise.all([bot.prompts.list().toArray(), bot.prompts.list().toArray(), bot.prompts.list().toArray()]);
    expect(bot.metrics().tokenRefreshes).toBe(1);
    await expect(bot.prompts.create({ name: 'x', template: 'y' })).rejects.toBeInstanceOf(PermissionDeniedError);

    const updated = await loam.credentials.update(cred.id, { active: false, description: '' });
    expect(updated).toMatchObject({ active: false, description: '' });
    const fresh = new Loam({ baseURL, clientCredentials: { clientId: cred.client_id, clientSecret: cred.client_secret }, maxRetries: 0 });
    await expect(fresh.prompts.list().toArray()).rejects.toMatchObject({ status: 401, code: 'invalid_client' });

    await loam.credentials.delete(cred.id);
    await expect(loam.credentials.get(cred.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('policies and audit logs', () => {
  it('policies: create, list, get, update, replace, schema, delete', async () => {
    const schema = await loam.policies.schema();
    expect(schema.schema).toContain('namespace Loam');
    const policy = await loam.policies.create({
      name: 'allow-read',
      policy: 'permit(principal, action == Loam::Action::"read", resource);',
    });
    expect(policy).toMatchObject({ effect: 'permit', version: 1 });
    await expect(
      loam.policies.create({ name: 'broken', policy: 'permit(principal, action, resource) when { principal.nope };' }),
    ).rejects.toMatchObject({
      status: 400,
    });
    expect((await loam.policies.list().toArray()).map((p) => p.id)).toContain(policy.id);
    expect((await loam.policies.get(policy.id)).name).toBe('allow-read');
    expect(await loam.policies.update(policy.id, { description: 'reviewed' })).toMatchObject({ description: 'reviewed', version: 2 });
    const replaced = await loam.policies.replace(policy.id, {
      name: 'deny-delete',
      policy: 'forbid(principal, action == Loam::Action::"delete", resource);',
    });
    expect(replaced).toMatchObject({ name: 'deny-delete', effect: 'forbid', description: '' });
    await loam.policies.delete(policy.id);
    await expect(loam.policies.get(policy.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('auditLogs: list with filters across pages, get, verify', async () => {
    const entries = await loam.auditLogs.list({ limit: 2 }).toArray();
    expect(entries.length).toBeGreaterThan(2);
    expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
    const signups = await loam.auditLogs.list({ action: 'user.*' }).toArray();
    expect(signups.length).toBeGreaterThan(0);
    expect(signups.every((e) => e.action.startsWith('user.'))).toBe(true);
    expect((await loam.auditLogs.get(entries[0].id)).hash).toBe(entries[0].hash);
    await expect(loam.auditLogs.verify()).resolves.toMatchObject({ valid: true });
  });
});

describe('prompts', () => {
  it('CRUD, versions, labels, list across pages, render', async () => {
    const prompt = await loam.prompts.create({
      name: 'summarize',
      template: 'Summarize for {{audience}}: {{text}}',
      modelId: 'llama-test',
      variables: [
        { name: 'audience', defaultValue: 'engineers' },
        { name: 'text', required: true },
      ],
      tags: ['sdk', 'summary'],
    });
    expect(prompt.version).toBe(1);
    const v2 = await loam.prompts.update(prompt.id, { description: 'second' });
    expect(v2).toMatchObject({ version: 2, description: 'second', template: prompt.template });
    expect((await loam.prompts.get(prompt.id, { version: 1 })).description).toBe('');

    await loam.prompts.setLabel(prompt.id, 'production', 1);
    expect((await loam.prompts.get(prompt.id, { label: 'production' })).version).toBe(1);
    const history = await loam.prompts.versions(prompt.id);
    expect(history.versions.map((v) => v.version)).toEqual([2, 1]);
    expect(history.labels).toMatchObject({ production: 1, latest: 2 });
    await loam.prompts.deleteLabel(prompt.id, 'production');
    await expect(loam.prompts.get(prompt.id, { label: 'production' })).rejects.toBeInstanceOf(NotFoundError);

    const rendered = await loam.prompts.render(prompt.id, { variables: { text: 'Loam' } });
    expect(rendered).toEqual({ text: 'Summarize for engineers: Loam', version: 2 });
    await expect(loam.prompts.render(prompt.id, {})).rejects.toMatchObject({ status: 400 });

    for (let i = 0; i < 4; i++) await loam.prompts.create({ name: `p${i}`, template: 'hi', tags: ['paged'] });
    const pages: number[] = [];
    for await (const page of loam.prompts.list({ tags: ['paged'], maxResults: 3 }).pages()) pages.push(page.items.length);
    expect(pages).toEqual([3, 1]);
    const names = [];
    for await (const p of loam.prompts.list({ tags: ['paged'], maxResults: 3 })) names.push(p.name);
    expect(names.sort()).toEqual(['p0', 'p1', 'p2', 'p3']);

    await loam.prompts.delete(prompt.id);
    await expect(loam.prompts.get(prompt.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('generate, whole and streamed', async () => {
    const prompt = await loam.prompts.create({
      name: 'echo',
      template: 'Say {{word}}',
      modelId: 'llama-test',
      variables: [{ name: 'word', required: true }],
    });
    const whole = await loam.prompts.generate(prompt.id, { variables: { word: 'hello' } });
    expect(whole).toMatchObject({ text: 'echo: Say hello', provider: 'ollama', model: 'llama-test', finishReason: 'stop' });
    expect(whole.usage.inputTokens).toBe(4);

    const parts = [];
    for await (const part of loam.prompts.generate(prompt.id, { variables: { word: 'streams' }, stream: true })) parts.push(part);
    expect(parts[0].type).toBe('start');
    const text = parts.flatMap((p) => (p.type === 'text-delta' ? [p.delta] : [])).join('');
    expect(text).toBe('echo: Say streams');
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop' });
  });
});

describe('anonymization', () => {
  it('analyze, anonymize, validate, techniques', async () => {
    const text = 'Write to ada@example.com today';
    const found = await loam.anonymization.analyze({ text, include_text: true });
    expect(found.entities).toContainEqual(expect.objectContaining({ type: 'EMAIL_ADDRESS', text: 'ada@example.com' }));

    const masked = await loam.anonymization.anonymize({ text });
    expect(masked.text).toBe('Write to <EMAIL_ADDRESS> today');

    const records = Array.from({ length: 6 }, (_, i) => ({ zip: '0150', age: 30 + (i % 2), diagnosis: i % 3 ? 'flu' : 'cold' }));
    const report = await loam.anonymization.validate({ records, quasi_identifiers: ['zip', 'age'], k: 3, detect_pii: false });
    expect(report).toMatchObject({ records: 6, k: 3, k_satisfied: true });

    const techniques = await loam.anonymization.techniques();
    expect(techniques.map((x) => x.name)).toEqual(expect.arrayContaining(['replace', 'mask', 'hash']));
  });
});

describe('anonymization: reversible operators, DP aggregates, recognizers, metrics', () => {
  it('deanonymize, aggregate with budgets, recognizers CRUD, metrics', async () => {
    const text = 'Card holder ada@example.com';
    const encrypted = await loam.anonymization.anonymize({ text, operators: { EMAIL_ADDRESS: { type: 'encrypt' } } });
    expect(encrypted.text).not.toContain('ada@example.com');
    const restored = await loam.anonymization.deanonymize({ text: encrypted.text });
    expect(restored).toMatchObject({ text, restored: 1 });

    await loam.anonymization.setBudget('sdk-budget', 1);
    const records = Array.from({ length: 50 }, (_, i) => ({ age: 20 + (i % 30) }));
    const count = await loam.anonymization.aggregate({ budget: 'sdk-budget', records, query: { type: 'count', epsilon: 0.6 } });
    expect(count).toMatchObject({ mechanism: 'laplace', epsilon: 0.6 });
    expect(typeof count.value).toBe('number');
    expect((await loam.anonymization.budget('sdk-budget')).epsilon_remaining).toBeCloseTo(0.4);
    // The budget cannot pay for another 0.6: refused with a client error, not answered.
    const refused = await loam.anonymization
      .aggregate({ budget: 'sdk-budget', records, query: { type: 'count', epsilon: 0.6 } })
      .catch((e) => e);
    expect(refused).toBeInstanceOf(APIError);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);

    const r = await loam.anonymization.recognizers.create({
      name: 'employee id',
      entity_type: 'EMPLOYEE_ID',
      patterns: [{ regex: 'E-\\d{6}', score: 0.9 }],
    });
    expect((await loam.anonymization.recognizers.list()).map((x) => x.id)).toContain(r.id);
    expect((await loam.anonymization.recognizers.get(r.id)).entity_type).toBe('EMPLOYEE_ID');
    const found = await loam.anonymization.analyze({ text: 'badge E-123456', entities: ['EMPLOYEE_ID'] });
    expect(found.entities.map((e) => e.type)).toEqual(['EMPLOYEE_ID']);
    expect((await loam.anonymization.recognizers.update(r.id, { enabled: false })).enabled).toBe(false);
    await loam.anonymization.recognizers.delete(r.id);
    await expect(loam.anonymization.recognizers.get(r.id)).rejects.toBeInstanceOf(NotFoundError);

    const metrics = await loam.anonymization.metrics();
    expect(metrics.analyze_requests).toBeGreaterThan(0);
  });
});

describe('storage', () => {
  it('uploadUrl + PUT, downloadUrl + GET, and upload() in one call', async () => {
    const { s3Key, size } = await loam.storage.upload(new Blob(['hello storage']), { filename: 'hello.txt' });
    expect(s3Key).toMatch(/^default\/.+\/hello\.txt$/);
    expect(size).toBe(13);
    const { downloadUrl, httpMethod } = await loam.storage.downloadUrl({ s3Key });
    expect(httpMethod).toBe('GET');
    expect(await (await fetch(downloadUrl)).text()).toBe('hello storage');

    const manual = await loam.storage.uploadUrl({ filename: 'a.bin', contentType: 'application/octet-stream' });
    expect(manual.httpMethod).toBe('PUT');
    await expect(loam.storage.downloadUrl({ s3Key: 'default/nope/none.txt' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(loam.storage.uploadUrl({ filename: '', contentType: 'text/plain' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('content', () => {
  it('ingestText (wait), get, text, setText, update, downloadUrl, delete', async () => {
    const item = await loam.content.ingestText(
      { content: 'Loam keeps data close to the model.', metadata: { source: 'sdk', draft: 'yes' } },
      { wait: true },
    );
    expect(item).toMatchObject({ status: 'COMPLETED', sourceType: 'TEXT', metadata: { source: 'sdk', draft: 'yes' } });
    expect(await loam.content.text(item.id)).toBe('Loam keeps data close to the model.');

    await loam.content.setText(item.id, 'Corrected text.');
    expect(await loam.content.text(item.id)).toBe('Corrected text.');

    const updated = await loam.content.update(item.id, { metadata: { reviewed: 'true', draft: '' } });
    expect(updated.metadata).toEqual({ source: 'sdk', reviewed: 'true' });
    expect((await loam.content.get(item.id)).id).toBe(item.id);
    expect(await loam.content.downloadUrl(item.id)).toMatch(/^http/);

    await loam.content.delete(item.id);
    await expect(loam.content.get(item.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('ingestFile: a Blob, a Buffer, streams and (Node entry) a path, with upload progress, waiting for COMPLETED', async () => {
    const progress: number[] = [];
    const fromBlob = await loam.content.ingestFile(
      new Blob(['# Notes\n\nA markdown file uploaded from a Blob.'], { type: 'text/markdown' }),
      {
        filename: 'notes.md',
        wait: true,
        onProgress: (p) => progress.push(p.loaded),
      },
    );
    expect(fromBlob).toMatchObject({ status: 'COMPLETED', sourceType: 'FILE', contentType: 'text/markdown' });
    expect(await loam.content.text(fromBlob.id)).toContain('A markdown file uploaded from a Blob.');
    expect(progress.at(-1)).toBe(46);

    const fromBuffer = await loam.content.ingestFile(Buffer.from('plain bytes from a Buffer'), { filename: 'b.txt' });
    expect(['PENDING', 'PROCESSING', 'COMPLETED']).toContain(fromBuffer.status); // the upload was confirmed
    expect(fromBuffer).not.toHaveProperty('uploadUrl');
    expect((await loam.content.waitUntilProcessed(fromBuffer.id)).size).toBe(25);

    const dir = mkdtempSync(join(tmpdir(), 'loam-sdk-'));
    try {
      const file = join(dir, 'report.csv');
      writeFileSync(file, 'name,score\nada,10\ngrace,9\n');
      const node = new NodeLoam({ baseURL, apiKey: t.adminKey });
      const fromPath = await node.content.ingestFile(file, { wait: true });
      expect(fromPath).toMatchObject({ status: 'COMPLETED', contentType: 'text/csv' });
      expect(await node.content.text(fromPath.id)).toContain('grace');
      // Streams of unknown length go up chunked: a Node Readable and a web ReadableStream.
      const fromReadable = await loam.content.ingestFile(createReadStream(file), { wait: true });
      expect(fromReadable).toMatchObject({ status: 'COMPLETED', size: 26, contentType: 'text/csv' }); // name taken from the stream's path
      const web = new Blob(['streamed ', 'web ', 'bytes']).stream();
      const fromWeb = await loam.content.ingestFile(web, { filename: 'web.txt', wait: true });
      expect(await loam.content.text(fromWeb.id)).toBe('streamed web bytes');
      // The browser-safe entry refuses paths with a pointer to the Node entry.
      await expect(loam.content.ingestFile(file)).rejects.toThrow(/@loam\/sdk\/node/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ingestUrl, and waitUntilProcessed throws ContentProcessingError on ERROR', async () => {
    t.loam.services.content.fetchPolicy.allowLoopback = true; // test-only: the fixture page is on 127.0.0.1
    const page = await loam.content.ingestUrl({ url: `${ollama.url}/page.html` }, { wait: true });
    expect(page).toMatchObject({ status: 'COMPLETED', sourceType: 'URL', title: 'Fixture page' });
    expect(await loam.content.text(page.id)).toContain('extracted its main text');

    const broken = await loam.content.ingestFile(new Blob([new Uint8Array([0x25, 0x50, 0x44, 0x46, 0x2d, 0x00, 0xff])]), {
      filename: 'broken.pdf',
      contentType: 'application/pdf',
    });
    await expect(loam.content.waitUntilProcessed(broken.id)).rejects.toBeInstanceOf(ContentProcessingError);
  });

  it('list: filters and auto-pagination across nextToken pages; batch; stats', async () => {
    const batch = await loam.content.batch({ items: [{ content: 'one' }, { content: 'two' }, { content: 'three' }] });
    expect(batch).toMatchObject({ succeeded: 3, failed: 0 });
    for (const r of batch.results) await loam.content.waitUntilProcessed(r.id!);

    const first = await loam.content.list({ status: 'COMPLETED', limit: 2 });
    expect(first.items).toHaveLength(2);
    expect(first.hasNextPage()).toBe(true);
    const all = await loam.content.list({ status: 'processed', limit: 2 }).toArray();
    expect(all.every((i) => i.status === 'COMPLETED')).toBe(true);
    expect(new Set(all.map((i) => i.id)).size).toBe(all.length);
    let pages = 0;
    for await (const _ of loam.content.list({ status: 'completed', limit: 2 }).pages()) pages++;
    expect(pages).toBe(Math.ceil(all.length / 2));
    const texts = await loam.content.list({ sourceType: 'text', limit: 100 }).toArray();
    expect(texts.every((i) => i.sourceType === 'TEXT')).toBe(true);

    const hits = await loam.content.search('three');
    expect(hits.map((h) => h.id)).toContain(batch.results[2].id);

    const stats = await loam.content.stats();
    expect(stats.by_status.COMPLETED).toBe(all.length);
  });
});

describe('datasets, versions, records, jobs', () => {
  it('datasets: create, get, list, update, stats, lineage, archive, restore, delete', async () => {
    const ds = await loam.datasets.create({
      name: 'customers',
      classification: 'confidential',
      schema: {
        fields: [
          { name: 'email', type: 'string', required: true, pii: 'email' },
          { name: 'age', type: 'integer', required: false },
        ],
      },
      tags: ['crm'],
    });
    expect(ds).toMatchObject({ name: 'customers', status: 'active', record_count: 0 });
    await expect(loam.datasets.create({ name: 'customers' })).rejects.toBeInstanceOf(ConflictError);
    expect((await loam.datasets.get(ds.id)).classification).toBe('confidential');
    expect((await loam.datasets.list({ tag: 'crm' }).toArray()).map((d) => d.id)).toEqual([ds.id]);
    expect((await loam.datasets.update(ds.id, { description: 'CRM export' })).description).toBe('CRM export');

    await loam.records.insertMany(ds.id, [{ data: { email: 'a@example.com', age: 30 } }, { data: { email: 'b@example.com', age: 40 } }]);
    const stats = await loam.datasets.stats(ds.id);
    expect(stats.record_count).toBe(2);
    expect(stats.fields.find((f) => f.name === 'age')).toMatchObject({ min: 30, max: 40 });
    const lineage = await loam.datasets.lineage(ds.id);
    expect(lineage.nodes.some((n) => n.type === 'dataset')).toBe(true);

    expect((await loam.datasets.archive(ds.id)).status).toBe('archived');
    await expect(loam.records.insertMany(ds.id, [{ data: { email: 'c@example.com' } }])).rejects.toMatchObject({ status: 409 });
    expect((await loam.datasets.restore(ds.id)).status).toBe('active');
    await loam.datasets.delete(ds.id);
    await expect(loam.datasets.get(ds.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('records: insertMany chunks large inserts, get, update, delete, query and list across pages', async () => {
    const ds = await loam.datasets.create({ name: 'events', schema: { fields: [{ name: 'n', type: 'integer', required: true }] } });
    const rows = Array.from({ length: 25 }, (_, n) => ({ id: `r${String(n).padStart(2, '0')}`, data: { n, even: n % 2 === 0 } }));
    const calls: number[] = [];
    const inserted = await loam.records.insertMany(ds.id, rows, { chunkSize: 10, onProgress: (done) => calls.push(done) });
    expect(inserted.inserted).toBe(25);
    expect(inserted.ids).toEqual(rows.map((r) => r.id));
    expect(calls).toEqual([10, 20, 25]);
    await expect(loam.records.insertMany(ds.id, [{ data: { n: 'not a number' } }])).rejects.toBeInstanceOf(ValidationError);

    expect((await loam.records.get(ds.id, 'r03')).data).toMatchObject({ n: 3 });
    expect((await loam.records.update(ds.id, 'r03', { n: 303 })).data).toMatchObject({ n: 303, even: false });
    await loam.records.delete(ds.id, 'r04');
    await expect(loam.records.get(ds.id, 'r04')).rejects.toBeInstanceOf(NotFoundError);

    const evens = await loam.records.query(ds.id, { filter: { even: true, n: { $gte: 10 } }, sort: '-n', limit: 3 }).toArray();
    expect(evens.map((r) => r.data.n)).toEqual([24, 22, 20, 18, 16, 14, 12, 10]);
    const pages: number[] = [];
    for await (const page of loam.records.list(ds.id, { filter: { n: { $lt: 10 } }, limit: 3 }).pages()) pages.push(page.items.length);
    expect(pages).toEqual([3, 3, 2]); // 0–9 without r03 (now 303) and the deleted r04
  });

  it('insertMany splits at the server limit of 10,000 records per call', async () => {
    const ds = await loam.datasets.create({ name: 'bulk' });
    const posts: number[] = [];
    const counting = new Loam({
      baseURL,
      apiKey: t.adminKey,
      fetch: async (input, init) => {
        if (init?.method === 'POST') posts.push((JSON.parse(String(init.body)) as unknown[]).length);
        return fetch(input, init);
      },
    });
    const rows = Array.from({ length: 10_001 }, (_, i) => ({ data: { i } }));
    const result = await counting.records.insertMany(ds.id, rows);
    expect(result.inserted).toBe(10_001);
    expect(posts).toEqual([10_000, 1]);
    expect((await loam.datasets.get(ds.id)).record_count).toBe(10_001);
  });

  it('versions: create, list, get, update, diff, deprecate, delete', async () => {
    const ds = await loam.datasets.create({ name: 'versioned' });
    await loam.records.insertMany(ds.id, [
      { id: 'a', data: { v: 1 } },
      { id: 'b', data: { v: 1 } },
    ]);
    const v1 = await loam.versions.create(ds.id, { name: 'first' });
    expect(v1).toMatchObject({ number: 1, record_count: 2, status: 'finalized' });
    await loam.records.update(ds.id, 'a', { v: 2 });
    await loam.records.delete(ds.id, 'b');
    await loam.records.insertMany(ds.id, [{ id: 'c', data: { v: 1 } }]);
    const v2 = await loam.versions.create(ds.id, { name: 'second' });

    expect((await loam.versions.list(ds.id).toArray()).map((v) => v.name)).toEqual(['first', 'second']);
    expect((await loam.versions.get(ds.id, v1.id)).checksum).toBe(v1.checksum);
    expect((await loam.versions.update(ds.id, v1.id, { tags: ['golden'] })).tags).toEqual(['golden']);
    const diff = await loam.versions.diff(ds.id, v1.id, v2.id);
    expect(diff).toMatchObject({ added: ['c'], removed: ['b'], modified: ['a'] });
    expect((await loam.records.get(ds.id, 'a', { version: v1.id })).data).toEqual({ v: 1 });

    expect((await loam.versions.deprecate(ds.id, v1.id)).status).toBe('deprecated');
    await loam.versions.delete(ds.id, v2.id);
    await expect(loam.versions.get(ds.id, v2.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('records import (upload + job, with progress) and export/download; jobs.get', async () => {
    const ds = await loam.datasets.create({ name: 'imported' });
    const ndjson = `${Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `i${i}`, name: `row ${i}` })).join('\n')}\n{broken\n`;
    const progress: number[] = [];
    const imp = await loam.records.import(ds.id, new Blob([ndjson]), {
      format: 'ndjson',
      wait: true,
      onProgress: (p) => progress.push(p.loaded),
    });
    expect(imp).toMatchObject({ status: 'succeeded', total: 31, processed: 31, failed: 1 });
    expect(progress.at(-1)).toBe(ndjson.length);
    const errors = await loam.records.importErrors(ds.id, imp.id).toArray();
    expect(errors).toEqual([expect.objectContaining({ line: 31 })]);
    expect((await loam.jobs.get(imp.job_id)).status).toBe('succeeded');

    const body = await loam.records.download(ds.id, { format: 'ndjson' });
    const text = await new Response(body).text();
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(30);
    expect(JSON.parse(lines[0])).toMatchObject({ id: 'i0' });

    const { job, exportId } = await loam.records.export(ds.id, { format: 'csv' });
    await loam.jobs.wait(job.id);
    expect(await loam.records.getExport(exportId)).toMatchObject({ status: 'succeeded', format: 'csv', record_count: 30 });
  });
});
