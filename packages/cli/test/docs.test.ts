/** `loam docs …`: the BUILT binary against a real Loam (SQLite) whose workflow runs in its workers. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { type Run, runLoam } from './run-loam.js';

let t: TestLoam;
let home: string;
let baseURL: string;
let collection: string;

function loam(args: string[]): Promise<Run> {
  const env = { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: join(home, 'config'), LOAM_API_BASE_URL: baseURL, LOAM_API_KEY: t.adminKey };
  return runLoam(args, { env, cwd: home });
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'loam-cli-docs-'));
  mkdirSync(join(home, 'kb', 'nested'), { recursive: true });
  writeFileSync(
    join(home, 'kb', 'lighthouse.md'),
    '# Lighthouse\n\n## Fog\n\nWhen fog rolls in, the keeper sounds the foghorn every thirty seconds.\n',
  );
  writeFileSync(join(home, 'kb', 'nested', 'garden.txt'), 'The gardener waters the tomatoes at dawn, before the heat.\n');
  writeFileSync(join(home, 'kb', '.hidden.txt'), 'never uploaded');
  // Pre-signed upload URLs name the server's public URL, so the port is chosen before listening.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as AddressInfo;
  await new Promise((r) => probe.close(r));
  baseURL = `http://127.0.0.1:${port}`;
  t = await createTestLoam({ config: { rateLimitEnabled: false, publicUrl: baseURL } });
  await t.app.listen({ port, host: '127.0.0.1' });
  t.loam.platform.jobs.start(1);
  const created = await t.app.inject({ method: 'POST', url: '/api/v1/collections', headers: t.admin, payload: { name: 'cli' } });
  collection = created.json().data.id;
}, 60_000);
afterAll(async () => {
  await t?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('loam docs', () => {
  it('add uploads every file of a directory (hidden ones skipped) and waits until indexed', async () => {
    const r = await loam(['docs', 'add', join(home, 'kb'), '--collection', collection, '--meta', 'department=ops', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const docs = JSON.parse(r.stdout) as { filename: string; status: string; chunk_count: number; metadata: Record<string, string> }[];
    expect(docs.map((d) => [d.filename, d.status])).toEqual([
      ['lighthouse.md', 'indexed'],
      ['garden.txt', 'indexed'],
    ]);
    expect(docs[0].metadata).toEqual({ department: 'ops' });
    expect(docs[0].chunk_count).toBeGreaterThan(0);
  }, 30_000);

  it('search prints the ranked chunks; ask streams the cited answer, then its sources', async () => {
    const search = await loam(['docs', 'search', 'foghorn', '--collection', collection]);
    expect(search.code, search.stderr).toBe(0);
    expect(search.stdout).toMatch(/^1\s+[\d.]+\s+lighthouse\.md\s+Lighthouse › Fog/m);
    expect(search.stdout).not.toMatch(/garden/);

    const ask = await loam(['docs', 'ask', 'When does the gardener water the tomatoes?', '--collection', collection]);
    expect(ask.code, ask.stderr).toBe(0);
    expect(ask.stdout).toMatch(/waters the tomatoes at dawn.*\[1\]/);
    expect(ask.stdout).toMatch(/\nSources:\n {2}\[1\] garden\.txt\n/);

    const json = await loam(['docs', 'ask', 'foghorn', '--collection', collection, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      answer: expect.stringMatching(/\[1\]/),
      sources: [{ number: 1, filename: 'lighthouse.md' }],
    });
  }, 30_000);

  it('errors: a missing file is a usage error (2); an unknown collection is the server’s 404 (1)', async () => {
    const missing = await loam(['docs', 'add', join(home, 'nope.txt'), '--collection', collection]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file or directory/);
    const noCollection = await loam(['docs', 'search', 'x']);
    expect(noCollection.code).toBe(2);
    const unknown = await loam(['docs', 'ask', 'x', '--collection', 'kb_nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/404/);
  }, 30_000);
});
