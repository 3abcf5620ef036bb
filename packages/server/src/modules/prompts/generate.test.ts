import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, eventually } from '../../test/harness.js';
import { LlmTestDouble } from '../../test/llm-test-doubles.js';

/** Server-Sent Events `data:` payloads (comment lines are heartbeats). */
function sseParts(body: string): { parts: Record<string, unknown>[]; comments: string[] } {
  const parts: Record<string, unknown>[] = [];
  const comments: string[] = [];
  for (const block of body.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) parts.push(JSON.parse(line.slice(6)));
      else if (line.startsWith(':')) comments.push(line);
    }
  }
  return { parts, comments };
}

const json = { 'content-type': 'application/json' };

describe('POST /prompts/{id}/generate with no LLM provider configured', () => {
  let t: TestLoam;
  beforeAll(async () => {
    t = await createTestLoam({ config: { rateLimitMultiplier: 1000 } });
  });
  afterAll(() => t.close());

  it('409 llm_not_configured, for JSON and for streams — never an invented answer', async () => {
    const created = await t.app.inject({
      method: 'POST',
      url: '/prompts',
      headers: { ...t.admin, ...json },
      payload: { name: 'x', template: 'Hello' },
    });
    const id = created.json().prompt.id;
    for (const payload of [{}, { stream: true }]) {
      const r = await t.app.inject({ method: 'POST', url: `/prompts/${id}/generate`, headers: { ...t.admin, ...json }, payload });
      expect(r.statusCode).toBe(409);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
      expect(r.json()).toMatchObject({ error: 'llm_not_configured', error_description: expect.stringContaining('No LLM provider') });
    }
  });
});

describe('POST /prompts/{id}/generate against provider test doubles', () => {
  let double: LlmTestDouble;
  let t: TestLoam;
  let promptId: string;

  beforeAll(async () => {
    double = await LlmTestDouble.start();
    t = await createTestLoam({
      config: {
        rateLimitMultiplier: 1000,
        llmHeartbeatMs: 50,
        llmRetryBaseMs: 10,
        llmProviders: [
          { name: 'oa', kind: 'openai', baseUrl: `${double.url}/v1`, apiKey: 'sk-test', models: ['gpt-test'] },
          { name: 'ol', kind: 'ollama', baseUrl: double.url, models: ['llama-test'] },
        ],
      },
    });
    const r = await t.app.inject({
      method: 'POST',
      url: '/prompts',
      headers: { ...t.admin, ...json },
      payload: {
        name: 'translate',
        template: 'Translate {{text}} into {{lang}}',
        modelId: 'gpt-test',
        parameters: { temperature: 0.4, maxTokens: 256, system: 'You translate.' },
        variables: [
          { name: 'text', required: true },
          { name: 'lang', defaultValue: 'French' },
        ],
      },
    });
    promptId = r.json().prompt.id;
  });
  afterAll(async () => {
    // fetch (undici) may leave a spare connection that never carried a request; Node's
    // server.close() would wait for its request timeout.
    t.app.server.closeAllConnections();
    await t.close();
    await double.close();
  });
  beforeEach(() => double.reset());

  const generate = (payload: Record<string, unknown>, headers: Record<string, string> = {}, id = promptId) =>
    t.app.inject({ method: 'POST', url: `/prompts/${id}/generate`, headers: { ...t.admin, ...json, ...headers }, payload });

  it('JSON: renders, generates with the prompt’s model and parameters, returns text and metadata', async () => {
    const r = await generate({ variables: { text: 'good morning' } });
    expect(r.statusCode).toBe(200);
    const body = r.json();
    expect(body).toEqual({
      text: 'echo: Translate good morning into French',
      promptId,
      version: 1,
      provider: 'oa',
      model: 'gpt-test',
      finishReason: 'stop',
      usage: { inputTokens: 7, outputTokens: 6, totalTokens: 13 },
      latencyMs: expect.any(Number),
    });
    expect(Number.isInteger(body.latencyMs)).toBe(true);
    expect(double.requests[0].body).toMatchObject({
      model: 'gpt-test',
      temperature: 0.4,
      max_tokens: 256,
      messages: [
        { role: 'system', content: 'You translate.' },
        { role: 'user', content: 'Translate good morning into French' },
      ],
    });
  });

  it('request fields override the prompt’s parameters', async () => {
    await generate({ variables: { text: 'x' }, temperature: 0, maxTokens: 3, stop: 'END' });
    expect(double.requests[0].body).toMatchObject({ temperature: 0, max_tokens: 3, stop: ['END'] });
  });

  it('render errors answer 400 before any provider call', async () => {
    const r = await generate({ variables: { lang: 'German', extra: '1' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ missingVariables: ['text'], unknownVariables: ['extra'] });
    expect(double.requests).toHaveLength(0);
  });

  it('stream: true → Server-Sent Events: start, text-delta parts, finish with usage; not compressed', async () => {
    const r = await generate({ variables: { text: 'hello' }, stream: true }, { 'accept-encoding': 'gzip, br' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(r.headers['content-encoding']).toBeUndefined();
    expect(r.headers['cache-control']).toContain('no-cache');
    const { parts } = sseParts(r.body);
    expect(parts[0]).toEqual({ type: 'start', promptId, version: 1, provider: 'oa', model: 'gpt-test' });
    const deltas = parts.filter((p) => p.type === 'text-delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.map((p) => p.delta).join('')).toBe('echo: Translate hello into French');
    expect(parts.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: 7, outputTokens: 5, totalTokens: 12 },
      provider: 'oa',
      model: 'gpt-test',
      latencyMs: expect.any(Number),
    });
  });

  it('Accept: text/event-stream alone chooses the stream; a label picks the version', async () => {
    await t.app.inject({
      method: 'PUT',
      url: `/prompts/${promptId}`,
      headers: { ...t.admin, ...json },
      payload: { template: 'Say {{text}} in {{lang}}' },
    });
    await t.app.inject({
      method: 'PUT',
      url: `/prompts/${promptId}/labels/production`,
      headers: { ...t.admin, ...json },
      payload: { version: 1 },
    });
    const r = await generate({ variables: { text: 'hi' }, label: 'production' }, { accept: 'text/event-stream' });
    expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
    const { parts } = sseParts(r.body);
    expect(parts[0]).toMatchObject({ type: 'start', version: 1 });
    expect(double.requests[0].body.messages).toContainEqual({ role: 'user', content: 'Translate hi into French' });
    const latest = await generate({ variables: { text: 'hi' } });
    expect(latest.json()).toMatchObject({ version: 2, text: 'echo: Say hi in French' });
  });

  it('a stream that stalls: heartbeat comments while waiting, then an error part when the deadline passes', async () => {
    double.enqueue({ stallAfterFirstChunk: true });
    const r = await generate({ variables: { text: 'slow' }, stream: true, timeoutMs: 400 });
    const { parts, comments } = sseParts(r.body);
    expect(comments.length).toBeGreaterThan(0);
    expect(comments[0]).toBe(': heartbeat');
    expect(parts.at(-1)).toMatchObject({ type: 'error', error: 'llm_timeout', error_description: expect.stringContaining('400 ms') });
    await eventually(() => double.closedByClient === 1);
  });

  it('upstream failures become clear JSON errors: 502 after retries, 504 on timeout, 409 for an unserved model', async () => {
    double.enqueue({ status: 500 }, { status: 500 }, { status: 500 });
    const failed = await generate({ variables: { text: 'x' } });
    expect(failed.statusCode).toBe(502);
    expect(failed.json()).toMatchObject({ error: 'llm_upstream_error', error_description: expect.stringContaining('3 attempts') });
    expect(double.requests).toHaveLength(3);

    double.reset();
    double.enqueue({ stall: true });
    const slow = await generate({ variables: { text: 'x' }, timeoutMs: 300 });
    expect(slow.statusCode).toBe(504);
    expect(slow.json().error).toBe('llm_timeout');

    const other = await t.app.inject({
      method: 'POST',
      url: '/prompts',
      headers: { ...t.admin, ...json },
      payload: { name: 'unserved', template: 'x', modelId: 'claude-x' },
    });
    const unserved = await generate({}, {}, other.json().prompt.id);
    expect(unserved.statusCode).toBe(409);
    expect(unserved.json()).toMatchObject({ error: 'llm_not_configured', error_description: expect.stringContaining('claude-x') });
  });

  describe('over a real socket: a client that disconnects cancels the upstream call', () => {
    let base: string;
    beforeAll(async () => {
      base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    });

    const post = (body: object, signal: AbortSignal) =>
      fetch(`${base}/prompts/${promptId}/generate`, {
        method: 'POST',
        headers: { ...t.admin, ...json },
        body: JSON.stringify(body),
        signal,
      });

    it('JSON generation: aborting the HTTP request closes the provider connection', async () => {
      double.enqueue({ stall: true });
      const controller = new AbortController();
      const pending = post({ variables: { text: 'bye' } }, controller.signal).catch((e: Error) => e);
      await eventually(() => double.requests.length === 1);
      controller.abort();
      expect(await pending).toBeInstanceOf(Error);
      await eventually(() => double.closedByClient === 1);
    });

    it('streamed generation: aborting after the first delta closes the provider connection', async () => {
      double.enqueue({ stallAfterFirstChunk: true });
      const controller = new AbortController();
      const res = await post({ variables: { text: 'stream then leave' }, stream: true }, controller.signal);
      expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let received = '';
      while (!received.includes('text-delta')) {
        const { value, done } = await reader.read();
        if (done) break;
        received += new TextDecoder().decode(value);
      }
      expect(received).toContain('"type":"text-delta"');
      controller.abort();
      await eventually(() => double.closedByClient === 1);
    });
  });
});
