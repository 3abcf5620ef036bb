import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { LlmTestDouble } from '../../test/llm-test-doubles.js';
import { drainEvents, keyHeaders } from '../../test/principals.js';

const NAME = 'Maria Garcia';
const EMAIL = 'maria.garcia@example.com';
const PHONE = '+1 415 555 0132';
const PII_PROMPT = `Hello, I am ${NAME}. Write to ${EMAIL} or call ${PHONE} about the invoice.`;

/** The gateway over HTTP, against wire-protocol doubles of OpenAI, Azure OpenAI and Ollama. */
describeEachDialect('LLM gateway', (dialect) => {
  let double: LlmTestDouble;
  let t: TestLoam;
  let base: string;
  let openai: OpenAI;

  beforeAll(async () => {
    double = await LlmTestDouble.start();
    t = await createTestLoam({
      dialect,
      config: {
        rateLimitEnabled: false,
        llmProviders: [
          { name: 'oa', kind: 'openai', baseUrl: `${double.url}/v1`, apiKey: 'sk-upstream', models: ['gpt-test', 'embed-small'] },
          { name: 'az', kind: 'azure', baseUrl: double.url, apiKey: 'azure-key', apiVersion: '2024-10-21', models: ['az-deploy'] },
          { name: 'ol', kind: 'ollama', baseUrl: double.url, models: ['llama-test'] },
        ],
        llmRetryBaseMs: 5,
        llmMaxRetries: 1,
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: t.adminKey, maxRetries: 0 });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await double?.close();
  });
  beforeEach(() => double.reset());

  const post = async (path: string, body: unknown, headers: Record<string, string> = t.admin) => {
    const res = await fetch(base + path, {
      method: path.endsWith('/settings') ? 'PUT' : 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };
  const sseParts = (text: string) =>
    text
      .split('\n\n')
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice(6))
      .filter((d) => d !== '[DONE]')
      .map((d) => JSON.parse(d));

  describe('OpenAI-compatible routes, driven by the openai npm package', () => {
    it('chat completion (not streamed), answered by each provider protocol', async () => {
      for (const model of ['gpt-test', 'az-deploy', 'llama-test']) {
        const r = await openai.chat.completions.create({ model, messages: [{ role: 'user', content: `hi ${model}` }] });
        expect(r.object).toBe('chat.completion');
        expect(r.model).toBe(model);
        expect(r.choices[0].message.content).toBe(`echo: hi ${model}`);
        expect(r.choices[0].finish_reason).toBe('stop');
        expect(r.usage?.total_tokens).toBeGreaterThan(0);
      }
      expect(double.requests.map((q) => q.path)).toEqual([
        '/v1/chat/completions',
        '/openai/deployments/az-deploy/chat/completions',
        '/api/chat',
      ]);
      // The upstream sees the provider's key, never the Loam key.
      expect(double.requests[0].headers.authorization).toBe('Bearer sk-upstream');
    });

    it('chat completion streamed, with usage', async () => {
      const stream = await openai.chat.completions.create({
        model: 'gpt-test',
        messages: [
          { role: 'system', content: 'be brief' },
          { role: 'user', content: 'one two three four' },
        ],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let chunks = 0;
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        chunks++;
        text += chunk.choices[0]?.delta?.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toBe('echo: one two three four');
      expect(chunks).toBeGreaterThan(3);
      expect(finish).toBe('stop');
      expect(usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 });
    });

    it('embeddings (the SDK asks for base64 by default, floats when told) and the model list', async () => {
      const r = await openai.embeddings.create({ model: 'embed-small', input: ['aa', 'hello world'] });
      expect(r.data.map((d) => Array.from(d.embedding))).toEqual([LlmTestDouble.vectorOf('aa'), LlmTestDouble.vectorOf('hello world')]);
      const floats = await openai.embeddings.create({ model: 'embed-small', input: 'hey', encoding_format: 'float' });
      expect(floats.data[0].embedding).toEqual(LlmTestDouble.vectorOf('hey'));
      expect(floats.usage.prompt_tokens).toBe(3);
      const models = await openai.models.list();
      expect(models.data.map((m) => m.id)).toEqual(['gpt-test', 'embed-small', 'az-deploy', 'llama-test']);
      expect(models.data[0]).toMatchObject({ object: 'model', owned_by: 'oa' });
    });

    it('errors are OpenAI-shaped: a bad key, an invalid body, an unknown privacy mode', async () => {
      const stranger = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'loam_sk_not_a_key', maxRetries: 0 });
      const unauth = await stranger.models.list().catch((e: unknown) => e);
      expect(unauth).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((unauth as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'authentication_error', code: 'invalid_token' });

      const res = await post('/v1/chat/completions', { messages: [] });
      expect(res.status).toBe(400);
      const body = JSON.parse(res.text);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'validation_error' });
      expect(typeof body.error.message).toBe('string');

      const bad = await post(
        '/v1/chat/completions',
        { model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] },
        {
          ...t.admin,
          'x-loam-privacy': 'sometimes',
        },
      );
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).error.message).toMatch(/X-Loam-Privacy/);
      expect(double.requests).toHaveLength(0);
    });

    it('an upstream failure after retries is a 502 the SDK reports as an APIError', async () => {
      double.enqueue({ status: 500 }, { status: 500 });
      const err = await openai.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      expect(err.status).toBe(502);
      expect(err.error).toMatchObject({ type: 'server_error', code: 'llm_upstream_error' });
    });
  });

  describe('POST /api/v1/llm/generate', () => {
    it('prompt or messages, system, parameters; answers text, finish reason, usage, provider, model, latency, attempts', async () => {
      const res = await post('/api/v1/llm/generate', {
        model: 'gpt-test',
        system: 'You are terse.',
        prompt: 'say hi',
        temperature: 0.2,
        max_tokens: 40,
        stop: 'END',
      });
      expect(res.status).toBe(200);
      const { data } = JSON.parse(res.text);
      expect(data).toMatchObject({
        text: 'echo: say hi',
        finish_reason: 'stop',
        usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 },
        provider: 'oa',
        model: 'gpt-test',
        attempts: 1,
        privacy: { mode: 'off', entities: {} },
      });
      expect(Number.isInteger(data.latency_ms)).toBe(true);
      expect(double.requests[0].body).toMatchObject({
        temperature: 0.2,
        max_tokens: 40,
        stop: ['END'],
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'user', content: 'say hi' },
        ],
      });
      // provider + model picks that provider.
      const viaOllama = await post('/api/v1/llm/generate', {
        provider: 'ol',
        model: 'mistral',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(JSON.parse(viaOllama.text).data).toMatchObject({ provider: 'ol', model: 'mistral' });
      const both = await post('/api/v1/llm/generate', { prompt: 'a', messages: [{ role: 'user', content: 'b' }] });
      expect(both.status).toBe(400);
    });

    it('streams over SSE: start, deltas, finish with metadata', async () => {
      const res = await post('/api/v1/llm/generate', { model: 'llama-test', prompt: 'uno dos tres', stream: true });
      expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
      const parts = sseParts(res.text);
      expect(parts[0]).toEqual({ type: 'start', provider: 'ol', model: 'llama-test' });
      expect(
        parts
          .filter((p) => p.type === 'delta')
          .map((p) => p.text)
          .join(''),
      ).toBe('echo: uno dos tres');
      expect(parts.at(-1)).toMatchObject({ type: 'finish', finish_reason: 'stop', provider: 'ol', attempts: 1 });
    });

    it('a client that disconnects cancels the upstream call', async () => {
      double.enqueue({ stallAfterFirstChunk: true });
      const controller = new AbortController();
      const res = await fetch(`${base}/api/v1/llm/generate`, {
        method: 'POST',
        headers: { ...t.admin, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-test', prompt: 'never finishes', stream: true }),
        signal: controller.signal,
      });
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      controller.abort();
      await eventually(() => double.closedByClient === 1);
    });
  });

  describe('privacy on the way out', () => {
    const leaked = () => {
      const sent = JSON.stringify(double.requests.map((q) => q.body));
      return [NAME, 'Maria', 'Garcia', EMAIL, PHONE, '415 555'].filter((v) => sent.includes(v));
    };

    it('pseudonymize: the provider never sees the email, phone or name; the answer has them back', async () => {
      const res = await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: PII_PROMPT, privacy: { mode: 'pseudonymize' } });
      const { data } = JSON.parse(res.text);
      expect(leaked()).toEqual([]);
      const sent = (double.requests[0].body.messages as { content: string }[])[0].content;
      expect(sent).toMatch(/<EMAIL_ADDRESS_1>/);
      expect(data.text).toBe(`echo: ${PII_PROMPT}`);
      expect(data.privacy.mode).toBe('pseudonymize');
      expect(data.privacy.entities).toMatchObject({ EMAIL_ADDRESS: 1, PHONE_NUMBER: 1, PERSON: 1 });
    });

    it('pseudonymize on a stream: tokens split across chunks are restored (SSE and the openai package)', async () => {
      double.streamChunkChars = 4; // every token arrives in pieces
      const res = await post('/api/v1/llm/generate', {
        model: 'gpt-test',
        prompt: PII_PROMPT,
        stream: true,
        privacy: { mode: 'pseudonymize' },
      });
      const parts = sseParts(res.text);
      const text = parts
        .filter((p) => p.type === 'delta')
        .map((p) => p.text)
        .join('');
      expect(text).toBe(`echo: ${PII_PROMPT}`);
      expect(parts.filter((p) => p.type === 'delta').some((p) => p.text.includes('<'))).toBe(false);

      double.streamChunkChars = 3;
      const headers = { 'X-Loam-Privacy': 'pseudonymize' };
      const stream = await openai.chat.completions.create(
        { model: 'llama-test', messages: [{ role: 'user', content: PII_PROMPT }], stream: true },
        { headers },
      );
      let streamed = '';
      for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
      expect(streamed).toBe(`echo: ${PII_PROMPT}`);
      expect(leaked()).toEqual([]);
    });

    it('redact replaces entities; detect only counts; the audit log records counts, never values', async () => {
      const r = await openai.chat.completions.create(
        { model: 'gpt-test', messages: [{ role: 'user', content: PII_PROMPT }] },
        { headers: { 'X-Loam-Privacy': 'redact' } },
      );
      expect(leaked()).toEqual([]);
      expect(r.choices[0].message.content).toContain('<EMAIL_ADDRESS>');
      double.reset();
      const d = await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: PII_PROMPT, privacy: { mode: 'detect' } });
      expect(JSON.parse(d.text).data.privacy.entities.EMAIL_ADDRESS).toBe(1);
      expect(JSON.stringify(double.requests[0].body)).toContain(EMAIL);

      await t.loam.services.llmGateway.flush();
      await drainEvents(t);
      const audit = await fetch(`${base}/api/v1/admin/audit-logs?action=llm.call.completed&limit=100`, { headers: t.admin });
      const entries = (await audit.json()).data as { details: Record<string, unknown> }[];
      expect(entries.some((e) => (e.details.privacy as { mode: string }).mode === 'detect')).toBe(true);
      const all = JSON.stringify(entries);
      expect(all).not.toContain(EMAIL);
      expect(all).not.toContain(NAME);
    });

    it('the tenant’s mode is a floor: a call asking for less gets the tenant’s', async () => {
      const tenant = await keyHeaders(t, 'privacy-floor', { roles: ['admin'] });
      expect((await post('/api/v1/llm/settings', { privacy_mode: 'redact' }, tenant)).status).toBe(200);
      const r = await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: PII_PROMPT, privacy: { mode: 'off' } }, tenant);
      expect(JSON.parse(r.text).data.privacy.mode).toBe('redact');
      expect(leaked()).toEqual([]);
    });
  });

  describe('accounting, quotas and tenant isolation', () => {
    it('each call is a record of its execution in the observatory: the trace of its traceparent, with model, latency, tokens — never the prompt', async () => {
      const a = await keyHeaders(t, 'observed', { roles: ['admin'] });
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
      expect(
        (
          await post(
            '/v1/chat/completions',
            { model: 'gpt-test', messages: [{ role: 'user', content: PII_PROMPT }] },
            { ...a, traceparent },
          )
        ).status,
      ).toBe(200);
      double.enqueue({ status: 500 }, { status: 500 });
      expect(
        (await post('/v1/chat/completions', { model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }, { ...a, traceparent }))
          .status,
      ).toBe(502);
      const logs = async (headers: Record<string, string>) =>
        JSON.parse(await (await fetch(`${base}/api/v1/logs?execution_id=${traceId}`, { headers })).text()).data as Record<
          string,
          unknown
        >[];
      await t.loam.services.llmGateway.flush();
      await drainEvents(t);
      const records = await logs(a);
      const record = records.find((r) => r.level === 'info') as Record<string, unknown>;
      expect(records.find((r) => r.level === 'error')).toMatchObject({
        // Both requests the provider refused are counted: a failed call is recorded with its attempts.
        attributes: { 'loam.llm.status': 'error', 'loam.llm.error_code': 'llm_upstream_error', 'loam.llm.attempts': 2 },
      });
      expect(record).toMatchObject({
        source: 'loam',
        level: 'info',
        execution_id: traceId,
        trace_id: traceId,
        attributes: {
          'loam.llm.model': 'gpt-test',
          'loam.llm.provider': 'oa',
          'loam.llm.status': 'ok',
          'loam.llm.attempts': 1,
          'loam.llm.prompt_tokens': 7,
        },
      });
      expect(record.message).toMatch(/^LLM chat oa\/gpt-test: ok, \d+ ms, 7\+\d+ tokens, 1 attempt/);
      expect(JSON.stringify(record)).not.toContain(EMAIL);
      // Another tenant does not see it.
      const other = await keyHeaders(t, 'not-observed', { roles: ['admin'] });
      expect(await logs(other)).toEqual([]);
    });

    it('usage per day and model; quotas answer 429 quota_exceeded; tenants do not see or spend each other’s', async () => {
      const a = await keyHeaders(t, 'quota-a', { roles: ['admin'] });
      const b = await keyHeaders(t, 'quota-b', { roles: ['admin'] });
      const settings = await post('/api/v1/llm/settings', { daily_token_quota: 15 }, a);
      expect(JSON.parse(settings.text).data).toMatchObject({ daily_token_quota: 15, effective: { daily_token_quota: 15 } });

      // 10 tokens per call at the double: the second call crosses 15, the third is refused.
      for (let i = 0; i < 2; i++) expect((await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: 'a b' }, a)).status).toBe(200);
      const refused = await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: 'a b' }, a);
      expect(refused.status).toBe(429);
      expect(JSON.parse(refused.text)).toMatchObject({ code: 'quota_exceeded' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      const sdkA = new OpenAI({ baseURL: `${base}/v1`, apiKey: a['x-api-key'], maxRetries: 0 });
      const viaSdk = await sdkA.chat.completions.create({ model: 'gpt-test', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
      expect(viaSdk).toBeInstanceOf(OpenAI.RateLimitError);
      expect(viaSdk.error).toMatchObject({ code: 'quota_exceeded', type: 'rate_limit_error' });

      // Tenant B is unaffected and sees only its own usage.
      expect((await post('/api/v1/llm/generate', { model: 'llama-test', prompt: 'b' }, b)).status).toBe(200);
      const usageA = (await (await fetch(`${base}/api/v1/llm/usage`, { headers: a })).json()).data;
      const usageB = (await (await fetch(`${base}/api/v1/llm/usage`, { headers: b })).json()).data;
      expect(usageA.days).toEqual([
        expect.objectContaining({ model: 'gpt-test', calls: 2, prompt_tokens: 14, completion_tokens: 6, total_tokens: 20 }),
      ]);
      expect(usageB.days).toEqual([expect.objectContaining({ model: 'llama-test', calls: 1 })]);
      const recorded = await t.loam.services.llmGateway.recentCalls({ tenantId: 'quota-a' } as never, 10);
      expect(recorded.filter((c) => c.status === 'ok')).toHaveLength(2);
      expect(recorded[0]).toMatchObject({ operation: 'generate', provider: 'oa', attempts: 1, privacyMode: 'off' });
      // null gives the setting back to the server (unlimited here): the tenant may call again.
      const cleared = await post('/api/v1/llm/settings', { daily_token_quota: null, privacy_mode: null }, a);
      expect(JSON.parse(cleared.text).data).toMatchObject({
        daily_token_quota: null,
        privacy_mode: null,
        effective: { daily_token_quota: 0 },
      });
      expect((await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: 'a b' }, a)).status).toBe(200);
    });

    it('scopes: a key without llm:generate is refused', async () => {
      const reader = await keyHeaders(t, 'default', { scopes: ['datasets:read'] });
      const r = await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: 'x' }, reader);
      expect(r.status).toBe(403);
      const scientist = await keyHeaders(t, 'default', { roles: ['data_scientist'] });
      expect((await post('/api/v1/llm/generate', { model: 'gpt-test', prompt: 'x' }, scientist)).status).toBe(200);
    });
  });
});
