import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';
import { AppError } from '../../platform/errors.js';
import { type TestLoam, createTestLoam, eventually } from '../../test/harness.js';
import { LlmTestDouble } from '../../test/llm-test-doubles.js';
import { providerConfigsOf } from './config.js';
import type { LlmService } from './service.js';
import type { ChatResultStreamPart } from './types.js';

/** Each adapter against a local test double of its provider's wire protocol (no paid API is called). */
describe('LLM providers against wire-protocol test doubles', () => {
  let double: LlmTestDouble;
  let t: TestLoam;
  let llm: LlmService;

  beforeAll(async () => {
    double = await LlmTestDouble.start();
    t = await createTestLoam({
      http: false,
      config: {
        llmProviders: [
          { name: 'oa', kind: 'openai', baseUrl: `${double.url}/v1`, apiKey: 'sk-test-key', models: ['gpt-test'] },
          { name: 'oa-paused', kind: 'openai', baseUrl: `${double.url}/v1`, apiKey: 'sk-test-key', models: ['gpt-paused'] },
          { name: 'az', kind: 'azure', baseUrl: double.url, apiKey: 'azure-test-key', apiVersion: '2024-10-21', models: ['az-deploy'] },
          {
            name: 'az-entra',
            kind: 'azure',
            baseUrl: double.url,
            entraTenantId: 'tenant-1',
            entraClientId: 'client-1',
            entraClientSecret: 'secret-1',
            entraAuthorityHost: double.url,
            models: ['entra-deploy'],
          },
          { name: 'ol', kind: 'ollama', baseUrl: double.url, models: ['llama-test', 'embed-test'] },
        ],
        llmRetryBaseMs: 10,
        llmMaxRetries: 2,
        llmRetryMaxDelayMs: 5000,
      },
    });
    llm = t.loam.services.llm;
  });
  afterAll(async () => {
    await t.close();
    await double.close();
  });
  beforeEach(() => double.reset());

  const user = (content: string) => [{ role: 'user' as const, content }];
  const collect = async (parts: AsyncIterable<ChatResultStreamPart>) => {
    const all: ChatResultStreamPart[] = [];
    for await (const p of parts) all.push(p);
    return all;
  };
  const appErrorOf = async (p: Promise<unknown>): Promise<AppError> => {
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  };

  describe('OpenAI', () => {
    it('chat completion: text, finish reason, usage and metadata; parameters on the wire', async () => {
      const r = await llm.chat({ model: 'gpt-test', messages: user('hello there'), temperature: 0.3, maxTokens: 50, stop: ['END'] });
      expect(r).toMatchObject({
        text: 'echo: hello there',
        finishReason: 'stop',
        provider: 'oa',
        model: 'gpt-test',
        usage: { inputTokens: 7, outputTokens: 3, totalTokens: 10 },
      });
      expect(Number.isInteger(r.latencyMs)).toBe(true);
      const [req] = double.requests;
      expect(req.path).toBe('/v1/chat/completions');
      expect(req.headers.authorization).toBe('Bearer sk-test-key');
      expect(req.body).toMatchObject({ model: 'gpt-test', temperature: 0.3, max_tokens: 50, stop: ['END'], messages: user('hello there') });
    });

    it('streamed completion (SSE): text deltas, then one finish with usage', async () => {
      const stream = await llm.streamChat({ model: 'gpt-test', messages: user('one two three') });
      expect(stream).toMatchObject({ provider: 'oa', model: 'gpt-test' });
      const parts = await collect(stream.parts);
      const deltas = parts.filter((p) => p.type === 'text-delta');
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.map((p) => (p as { text: string }).text).join('')).toBe('echo: one two three');
      const finish = parts.at(-1);
      expect(finish).toMatchObject({
        type: 'finish',
        finishReason: 'stop',
        provider: 'oa',
        usage: { inputTokens: 7, outputTokens: 4, totalTokens: 11 },
      });
      expect(double.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    });

    it('maxTokens reaching the limit reports finish reason length', async () => {
      const r = await llm.chat({ model: 'gpt-test', messages: user('a b c d e f'), maxTokens: 2 });
      expect(r.finishReason).toBe('length');
    });

    it('embeddings in input order, as floats', async () => {
      const r = await llm.embed({ model: 'gpt-test', input: ['aa', 'hello world'] });
      expect(r.embeddings).toEqual([LlmTestDouble.vectorOf('aa'), LlmTestDouble.vectorOf('hello world')]);
      expect(r).toMatchObject({ provider: 'oa', model: 'gpt-test', usage: { inputTokens: 6 } });
      expect(double.requests[0]).toMatchObject({
        path: '/v1/embeddings',
        body: { encoding_format: 'float', input: ['aa', 'hello world'] },
      });
    });
  });

  describe('Azure OpenAI', () => {
    it('calls the deployment URL with api-version and the api-key header', async () => {
      const r = await llm.chat({ model: 'az-deploy', messages: user('hi azure') });
      expect(r).toMatchObject({ text: 'echo: hi azure', provider: 'az', model: 'az-deploy' });
      const [req] = double.requests;
      expect(req.path).toBe('/openai/deployments/az-deploy/chat/completions');
      expect(req.query.get('api-version')).toBe('2024-10-21');
      expect(req.headers['api-key']).toBe('azure-test-key');
      expect(req.headers.authorization).toBeUndefined();
    });

    it('streams from the deployment too', async () => {
      const stream = await llm.streamChat({ model: 'az-deploy', messages: user('stream me') });
      const parts = await collect(stream.parts);
      expect(
        parts
          .filter((p) => p.type === 'text-delta')
          .map((p) => (p as { text: string }).text)
          .join(''),
      ).toBe('echo: stream me');
      expect(double.requests[0].path).toBe('/openai/deployments/az-deploy/chat/completions');
    });

    it('with Microsoft Entra client credentials: fetches a token and sends it as Bearer', async () => {
      const r = await llm.chat({ model: 'entra-deploy', messages: user('entra') });
      expect(r.text).toBe('echo: entra');
      const token = double.requests.find((q) => q.path === '/tenant-1/oauth2/v2.0/token');
      expect(token?.body).toMatchObject({
        grant_type: 'client_credentials',
        client_id: 'client-1',
        client_secret: 'secret-1',
        scope: 'https://cognitiveservices.azure.com/.default',
      });
      const chat = double.requests.find((q) => q.path.endsWith('/chat/completions'));
      expect(chat?.headers.authorization).toBe('Bearer entra-token-for-client-1');
      expect(chat?.headers['api-key']).toBeUndefined();
      // The token is cached: a second call does not ask again.
      await llm.chat({ model: 'entra-deploy', messages: user('again') });
      expect(double.requests.filter((q) => q.path.endsWith('/token'))).toHaveLength(1);
    });
  });

  describe('Ollama (native API)', () => {
    it('chat: /api/chat with options, usage from eval counts', async () => {
      const r = await llm.chat({ model: 'llama-test', messages: user('hola'), temperature: 0.1, maxTokens: 64, stop: ['###'] });
      expect(r).toMatchObject({
        text: 'echo: hola',
        provider: 'ol',
        model: 'llama-test',
        finishReason: 'stop',
        usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 },
      });
      expect(double.requests[0]).toMatchObject({
        path: '/api/chat',
        body: { model: 'llama-test', stream: false, options: { temperature: 0.1, num_predict: 64, stop: ['###'] } },
      });
    });

    it('streams NDJSON: deltas then the done line as finish', async () => {
      const stream = await llm.streamChat({ model: 'llama-test', messages: user('uno dos tres') });
      const parts = await collect(stream.parts);
      expect(
        parts
          .filter((p) => p.type === 'text-delta')
          .map((p) => (p as { text: string }).text)
          .join(''),
      ).toBe('echo: uno dos tres');
      expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: 'stop', usage: { inputTokens: 5, outputTokens: 4 } });
      expect(double.requests[0].body.stream).toBe(true);
    });

    it('embeddings via /api/embed', async () => {
      const r = await llm.embed({ model: 'embed-test', input: ['x', 'yes no'] });
      expect(r.embeddings).toEqual([LlmTestDouble.vectorOf('x'), LlmTestDouble.vectorOf('yes no')]);
      expect(double.requests[0].path).toBe('/api/embed');
    });

    it('an upstream error is reported with the provider message', async () => {
      double.enqueue({ status: 404, body: { error: "model 'nope' not found" } });
      const err = await appErrorOf(llm.chat({ model: 'ol/nope', messages: user('x') }));
      expect(err).toMatchObject({ code: 'llm_upstream_error', status: 502 });
      expect(err.detail).toContain("model 'nope' not found");
      expect(double.requests).toHaveLength(1); // 404 is not retried
    });
  });

  describe('retries, cooldown, timeouts and cancellation', () => {
    it('429 with Retry-After: waits as asked, retries, succeeds', async () => {
      double.enqueue({ status: 429, headers: { 'retry-after': '1' }, body: { error: { message: 'Rate limit reached' } } });
      const r = await llm.chat({ model: 'gpt-test', messages: user('patience') });
      expect(r.text).toBe('echo: patience');
      expect(double.requests).toHaveLength(2);
      // Honouring Retry-After: the retry came no sooner than one second later.
      expect(double.requests[1].at - double.requests[0].at).toBeGreaterThanOrEqual(950);
    });

    it('500 every time: retried (1 + 2 attempts), then a clear 502', async () => {
      double.enqueue({ status: 500 }, { status: 500 }, { status: 503 });
      const err = await appErrorOf(llm.chat({ model: 'gpt-test', messages: user('x') }));
      expect(err).toMatchObject({ code: 'llm_upstream_error', status: 502 });
      expect(err.detail).toMatch(/after 3 attempts with HTTP 503/);
      expect(double.requests).toHaveLength(3);
    });

    it('a 4xx other than 429 is not retried', async () => {
      double.enqueue({ status: 401, body: { error: { message: 'Incorrect API key provided' } } });
      const err = await appErrorOf(llm.chat({ model: 'gpt-test', messages: user('x') }));
      expect(err).toMatchObject({ code: 'llm_upstream_error', status: 502 });
      expect(err.detail).toContain('Incorrect API key provided');
      expect(double.requests).toHaveLength(1);
    });

    it('a Retry-After longer than allowed fails at once, and the provider cools down for everyone', async () => {
      double.enqueue({ status: 429, headers: { 'retry-after': '120' } });
      const err = await appErrorOf(llm.chat({ model: 'gpt-paused', messages: user('x') }));
      expect(err).toMatchObject({ code: 'llm_rate_limited', status: 502 });
      expect(Number(err.headers?.['retry-after'])).toBeGreaterThanOrEqual(119);
      // The next call to that provider does not even reach it…
      const again = await appErrorOf(llm.chat({ model: 'gpt-paused', messages: user('y') }));
      expect(again.code).toBe('llm_rate_limited');
      expect(double.requests).toHaveLength(1);
      // …while other providers are unaffected.
      expect((await llm.chat({ model: 'gpt-test', messages: user('z') })).text).toBe('echo: z');
    });

    it('a slow provider: 504 llm_timeout, and the upstream connection is closed', async () => {
      double.enqueue({ stall: true });
      const err = await appErrorOf(llm.chat({ model: 'gpt-test', messages: user('slow') }, { timeoutMs: 300 }));
      expect(err).toMatchObject({ code: 'llm_timeout', status: 504 });
      await eventually(() => double.closedByClient === 1);
    });

    it('cancellation by the caller aborts the upstream request (Ollama, plain fetch)', async () => {
      double.enqueue({ stall: true });
      const controller = new AbortController();
      const pending = llm.chat({ model: 'llama-test', messages: user('cancel me') }, { signal: controller.signal });
      await eventually(() => double.requests.length === 1);
      controller.abort();
      const err = await appErrorOf(pending);
      expect(err).toMatchObject({ code: 'client_closed_request', status: 499 });
      await eventually(() => double.closedByClient === 1);
    });

    it('a stream that stalls mid-way times out and closes the upstream', async () => {
      double.enqueue({ stallAfterFirstChunk: true });
      const stream = await llm.streamChat({ model: 'gpt-test', messages: user('half way there') }, { timeoutMs: 400 });
      const seen: string[] = [];
      const err = await appErrorOf(
        (async () => {
          for await (const p of stream.parts) if (p.type === 'text-delta') seen.push(p.text);
        })(),
      );
      expect(err.code).toBe('llm_timeout');
      expect(seen.join('')).toContain('echo:');
      await eventually(() => double.closedByClient === 1);
    });

    it('a consumer that stops reading a stream closes the upstream', async () => {
      double.enqueue({ stallAfterFirstChunk: true });
      const stream = await llm.streamChat({ model: 'llama-test', messages: user('stop reading') });
      for await (const p of stream.parts) if (p.type === 'text-delta') break;
      await eventually(() => double.closedByClient === 1);
    });
  });

  describe('routing and metrics', () => {
    it('maps model ids to providers: listed, provider/model, otherwise 409 llm_not_configured', () => {
      expect(llm.resolve('gpt-test').provider.name).toBe('oa');
      expect(llm.resolve('az-deploy').provider.name).toBe('az');
      expect(llm.resolve('ol/mistral')).toMatchObject({ model: 'mistral', provider: { name: 'ol' } });
      expect(llm.resolve(undefined)).toMatchObject({ model: 'gpt-test', provider: { name: 'oa' } });
      expect(() => llm.resolve('claude-unknown')).toThrowError(expect.objectContaining({ code: 'llm_not_configured', status: 409 }));
      expect(() => llm.resolve(undefined, 'embed')).toThrowError(expect.objectContaining({ code: 'llm_not_configured' }));
    });

    it('counts tokens and latency per provider and model', async () => {
      await llm.chat({ model: 'llama-test', messages: user('count me') });
      const text = await t.loam.platform.metrics.metrics();
      expect(text).toMatch(/loam_llm_tokens_total\{provider="ol",model="llama-test",type="output"\} \d+/);
      expect(text).toMatch(/loam_llm_request_duration_seconds_count\{provider="ol",model="llama-test",operation="chat",outcome="ok"\} \d+/);
      expect(text).toMatch(/loam_llm_requests_total\{provider="oa",model="gpt-test",operation="chat",outcome="timeout"\} 1/);
    });
  });
});

describe('LLM provider configuration', () => {
  it('reads LOAM_LLM_PROVIDERS JSON and the OpenAI / Ollama shortcuts', () => {
    const config = loadConfig({
      LOAM_LLM_PROVIDERS: JSON.stringify([
        { name: 'azure-eu', kind: 'azure', baseUrl: 'https://x.openai.azure.com', apiKey: 'k', models: ['gpt-4o'] },
      ]),
      LOAM_OPENAI_API_KEY: 'sk-1',
      LOAM_OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      LOAM_OPENAI_MODELS: 'gpt-4o-mini, gpt-4.1',
      LOAM_OLLAMA_URL: 'http://127.0.0.1:11434',
    });
    expect(providerConfigsOf(config)).toEqual([
      { name: 'azure-eu', kind: 'azure', baseUrl: 'https://x.openai.azure.com', apiKey: 'k', models: ['gpt-4o'] },
      { name: 'openai', kind: 'openai', apiKey: 'sk-1', baseUrl: 'http://127.0.0.1:9/v1', models: ['gpt-4o-mini', 'gpt-4.1'] },
      { name: 'ollama', kind: 'ollama', baseUrl: 'http://127.0.0.1:11434', models: [] },
    ]);
  });

  it('fails fast on bad provider configuration, naming the problem', () => {
    const bad = (providers: unknown) => () => providerConfigsOf(loadConfig({ LOAM_LLM_PROVIDERS: JSON.stringify(providers) }));
    expect(() => providerConfigsOf(loadConfig({ LOAM_LLM_PROVIDERS: '[{' }))).toThrow(ConfigError);
    expect(bad([{ name: 'x', kind: 'anthropic' }])).toThrow(/llmProviders\[0\]\.kind/);
    expect(bad([{ name: 'az', kind: 'azure', baseUrl: 'https://x' }])).toThrow(/needs apiKey/);
    expect(
      bad([
        { name: 'a', kind: 'ollama' },
        { name: 'a', kind: 'ollama' },
      ]),
    ).toThrow(/two providers are named 'a'/);
  });

  it('with no provider configured every call answers 409 llm_not_configured', async () => {
    const t = await createTestLoam({ http: false });
    try {
      expect(t.loam.services.llm.configured).toBe(false);
      await expect(t.loam.services.llm.chat({ messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
        code: 'llm_not_configured',
        status: 409,
      });
    } finally {
      await t.close();
    }
  });
});
