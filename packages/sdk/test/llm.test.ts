/** `loam.llm` against a real Loam on a socket, its providers a wire-protocol double (no paid API). */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam } from '../../server/src/test/harness.js';
import { LlmTestDouble } from '../../server/src/test/llm-test-doubles.js';
import { type APIError, Loam, RateLimitError } from '../src/index.js';

let double: LlmTestDouble;
let t: TestLoam;
let loam: Loam;

beforeAll(async () => {
  double = await LlmTestDouble.start();
  t = await createTestLoam({
    config: {
      rateLimitEnabled: false,
      llmProviders: [{ name: 'oa', kind: 'openai', baseUrl: `${double.url}/v1`, apiKey: 'k', models: ['gpt-test'] }],
    },
  });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  loam = new Loam({ baseURL: `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`, apiKey: t.adminKey, maxRetries: 0 });
});
afterAll(async () => {
  await t?.close();
  await double?.close();
});

describe('loam.llm', () => {
  it('generate, with privacy: pseudonyms never reach the provider and come back in the answer', async () => {
    const r = await loam.llm.generate({ model: 'gpt-test', prompt: 'Mail ada@example.com', privacy: { mode: 'pseudonymize' } });
    expect(r).toMatchObject({
      text: 'echo: Mail ada@example.com',
      provider: 'oa',
      attempts: 1,
      privacy: { entities: { EMAIL_ADDRESS: 1 } },
    });
    expect(JSON.stringify(double.requests.at(-1)?.body)).not.toContain('ada@example.com');
  });

  it('stream: start, deltas, finish', async () => {
    const parts = [];
    for await (const part of loam.llm.stream({ model: 'gpt-test', prompt: 'one two three' })) parts.push(part);
    expect(parts[0]).toMatchObject({ type: 'start', provider: 'oa' });
    expect(parts.flatMap((p) => (p.type === 'delta' ? [p.text] : [])).join('')).toBe('echo: one two three');
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finish_reason: 'stop', usage: { prompt_tokens: 7 } });
  });

  it('models, usage, settings; a spent quota is a RateLimitError', async () => {
    expect(await loam.llm.models()).toEqual([{ id: 'gpt-test', provider: 'oa' }]);
    const usage = await loam.llm.usage();
    expect(usage.totals.calls).toBe(2);
    const settings = await loam.llm.updateSettings({ daily_token_quota: 1 });
    expect(settings.effective.daily_token_quota).toBe(1);
    const err = await loam.llm.generate({ model: 'gpt-test', prompt: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    expect((err as APIError).code).toBe('quota_exceeded');
    await loam.llm.updateSettings({ daily_token_quota: null });
  });
});
