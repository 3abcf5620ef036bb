/** `loam llm …`: the BUILT binary against a real Loam whose provider is a wire-protocol double. */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { LlmTestDouble } from '../../server/src/test/llm-test-doubles.js';
import { type Run, runLoam } from './run-loam.js';

let double: LlmTestDouble;
let t: TestLoam;
let home: string;
let baseURL: string;

function loam(args: string[], stdin?: string): Promise<Run> {
  const env = { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: join(home, 'config'), LOAM_API_BASE_URL: baseURL, LOAM_API_KEY: t.adminKey };
  return runLoam(args, { env, cwd: home, stdin });
}

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'loam-cli-llm-'));
  double = await LlmTestDouble.start();
  t = await createTestLoam({
    config: { rateLimitEnabled: false, llmProviders: [{ name: 'ol', kind: 'ollama', baseUrl: double.url, models: ['llama-test'] }] },
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  baseURL = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await t?.close();
  await double?.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('loam llm', () => {
  it('generate streams the answer; --json prints the whole result; - reads stdin', async () => {
    const streamed = await loam(['llm', 'generate', 'hello there', '--model', 'llama-test']);
    expect(streamed).toMatchObject({ code: 0, stdout: 'echo: hello there\n' });

    const json = await loam(['llm', 'generate', 'Mail ada@example.com', '--model', 'llama-test', '--privacy', 'redact', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ text: 'echo: Mail <EMAIL_ADDRESS>', provider: 'ol', privacy: { mode: 'redact' } });

    const piped = await loam(['llm', 'generate', '-', '--model', 'llama-test', '--no-stream'], 'from stdin');
    expect(piped.stdout).toBe('echo: from stdin\n');
  });

  it('usage and models; a bad flag value is a usage error', async () => {
    const usage = await loam(['llm', 'usage']);
    expect(usage.stdout).toMatch(/llama-test/);
    expect(usage.stdout).toMatch(/total: 3 calls/);
    expect((await loam(['llm', 'models'])).stdout).toMatch(/llama-test\s+ol/);
    const bad = await loam(['llm', 'generate', 'x', '--privacy', 'maybe']);
    expect(bad.code).toBe(2);
  });
});
