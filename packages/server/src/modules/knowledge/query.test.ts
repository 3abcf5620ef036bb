import { type UIMessage, type UIMessageChunk, parseJsonEventStream, readUIMessageStream, uiMessageChunkSchema } from 'ai';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { type TestLoam, createTestLoam, describeEachDialect, eventually } from '../../test/harness.js';
import { LlmTestDouble } from '../../test/llm-test-doubles.js';
import { GUIDE, baseUrl, createCollection, uploadDocument } from './test/helpers.js';

/** Reads a query answer with the `ai` package's own UI message stream reader: the last message state. */
async function readWithAiSdk(res: Response): Promise<{ message: UIMessage | undefined; chunks: UIMessageChunk[] }> {
  const chunks: UIMessageChunk[] = [];
  const parsed = parseJsonEventStream({ stream: res.body as ReadableStream<Uint8Array>, schema: uiMessageChunkSchema });
  const stream = parsed.pipeThrough(
    new TransformStream({
      transform(r, c) {
        if (!r.success) throw r.error;
        chunks.push(r.value);
        c.enqueue(r.value);
      },
    }),
  );
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream({ stream, onError: () => {} })) message = m;
  return { message, chunks };
}

const textOf = (m: UIMessage | undefined) => (m?.parts ?? []).map((p) => (p.type === 'text' ? p.text : '')).join('');

describeEachDialect('knowledge: POST /api/v1/query, without an LLM provider (extractive answers)', (dialect) => {
  let t: TestLoam;
  let base: string;
  let collection: string;

  beforeAll(async () => {
    t = await createTestLoam({ dialect, config: { rateLimitEnabled: false } });
    base = await baseUrl(t);
    collection = (await createCollection(t, t.admin)).id;
    await uploadDocument(t, t.admin, collection, { filename: 'guide.md', contentType: 'text/markdown', body: GUIDE });
  }, 60_000);
  afterAll(() => t?.close());

  const ask = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${base}/api/v1/query`, {
      method: 'POST',
      headers: { ...t.admin, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('streams the UI message stream protocol, read by the ai package: sources, cited text, finish, [DONE]', async () => {
    const res = await ask({ question: 'How often does the keeper sound the foghorn?', collection_ids: [collection], top_k: 2 });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const raw = await res.clone().text();
    expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const { message, chunks } = await readWithAiSdk(res);
    expect(chunks.map((c) => c.type).filter((type, i, all) => all.indexOf(type) === i)).toEqual([
      'start',
      'source-document',
      'text-start',
      'text-delta',
      'text-end',
      'finish',
    ]);
    const sources = (message?.parts ?? []).filter((p) => p.type === 'source-document');
    expect(sources[0]).toMatchObject({ title: '[1] guide.md', mediaType: 'text/plain', filename: 'guide.md' });
    expect(textOf(message)).toMatch(/foghorn every thirty seconds.*\[1\]/);
    const finish = chunks.find((c) => c.type === 'finish') as { messageMetadata?: { query_id: string } };
    // The query is recorded (for the observatory), without its answer text by default.
    const recorded = await t.loam.services.knowledge.knowledge.store.queries(t.loam.platform.database.db, 'default', 10);
    expect(recorded.find((q) => q.id === finish.messageMetadata?.query_id)).toMatchObject({
      outcome: 'ok',
      answer: null,
      chunk_ids: expect.any(Array),
    });
  });

  it("accepts useChat's {messages} body (the last user message is the question) and JSON answers on Accept", async () => {
    const messages = [
      { id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Tell me about lighthouses' }] },
      { id: 'm2', role: 'assistant', parts: [{ type: 'text', text: 'They guide ships.' }] },
      { id: 'm3', role: 'user', parts: [{ type: 'text', text: 'What does the keeper trim every evening?' }] },
    ];
    const { message } = await readWithAiSdk(await ask({ messages, collection_ids: [collection] }));
    expect(textOf(message)).toMatch(/trims the lamp wick/);

    const json = await ask({ question: 'lamp wick', collection_ids: [collection] }, { accept: 'application/json' });
    expect(json.status).toBe(200);
    const { data } = await json.json();
    expect(data).toMatchObject({ model: null, sources: [{ number: 1, filename: 'guide.md' }, ...[]].slice(0, 1) });
    expect(data.answer).toMatch(/\[1\]/);
  });

  it('bad input is a 4xx before the stream starts', async () => {
    expect((await ask({ collection_ids: [collection] })).status).toBe(400);
    expect((await ask({ question: 'x', collection_ids: ['kb_nope'] })).status).toBe(404);
    expect((await ask({ question: 'x', collection_ids: [] })).status).toBe(400);
  });
});

describeEachDialect('knowledge: POST /api/v1/query with an LLM provider double', (dialect) => {
  let t: TestLoam;
  let base: string;
  let double: LlmTestDouble;
  let collection: string;
  /** Keyword-only: retrieval makes no provider call, so the scripted failure hits the answer. */
  let keywordOnly: string;

  beforeAll(async () => {
    double = await LlmTestDouble.start();
    t = await createTestLoam({
      dialect,
      config: {
        rateLimitEnabled: false,
        llmProviders: [
          { name: 'oa', kind: 'openai', baseUrl: `${double.url}/v1`, apiKey: 'sk-upstream', models: ['gpt-test', 'embed-small'] },
        ],
        llmDefaultModel: 'gpt-test',
        llmMaxRetries: 0,
        llmTimeoutMs: 1500,
      },
    });
    base = await baseUrl(t);
    collection = (await createCollection(t, t.admin, { name: 'with vectors', embedding_model: 'embed-small' })).id;
    await uploadDocument(t, t.admin, collection, { filename: 'guide.md', contentType: 'text/markdown', body: GUIDE });
    keywordOnly = (await createCollection(t, t.admin, { name: 'keywords' })).id;
    await uploadDocument(t, t.admin, keywordOnly, { filename: 'guide.md', contentType: 'text/markdown', body: GUIDE });
  }, 60_000);
  afterAll(async () => {
    // The test client (undici) keeps two sockets of the aborted exchange open, which app.close() would wait for.
    t?.app.server.closeAllConnections();
    await t?.close();
    await double?.close();
  });
  beforeEach(() => double.reset());

  const ask = (body: unknown, init: RequestInit = {}) =>
    fetch(`${base}/api/v1/query`, {
      method: 'POST',
      headers: { ...t.admin, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...init,
    });

  it('answers from the provider with a grounded prompt holding the numbered sources; search is hybrid', async () => {
    const { message, chunks } = await readWithAiSdk(await ask({ question: 'foghorn', collection_ids: [collection], top_k: 2 }));
    expect(textOf(message)).toMatch(/^echo: /);
    const chat = double.requests.find((r) => r.path.endsWith('/chat/completions'));
    const sent = JSON.stringify(chat?.body.messages);
    expect(sent).toMatch(/\[1\] guide\.md/);
    expect(sent).toMatch(/Cite the source/);
    expect(chunks.at(-1)).toMatchObject({ type: 'finish', messageMetadata: { model: 'gpt-test' } });

    const search = await t.app.inject({ method: 'GET', url: `/api/v1/search?q=foghorn&collection_ids=${collection}`, headers: t.admin });
    expect(search.json().data.mode).toBe('hybrid');
    expect(search.json().data.hits[0].scores).toMatchObject({ keyword: expect.any(Number), vector: expect.any(Number) });
  });

  it('a failing provider gives a 502 error part inside the started stream (and 502 as JSON)', async () => {
    double.enqueue({ status: 500 });
    const { chunks } = await readWithAiSdk(await ask({ question: 'foghorn', collection_ids: [keywordOnly] }));
    expect(chunks[0].type).toBe('start');
    expect(chunks.at(-1)).toMatchObject({ type: 'error', status: 502, errorText: expect.stringMatching(/502/) });
    double.enqueue({ status: 500 });
    const json = await fetch(`${base}/api/v1/query`, {
      method: 'POST',
      headers: { ...t.admin, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ question: 'foghorn', collection_ids: [keywordOnly] }),
    });
    expect(json.status).toBe(502);
  });

  it('a provider that hangs gives 504 as an error part', async () => {
    double.enqueue({ stall: true });
    const { chunks } = await readWithAiSdk(await ask({ question: 'foghorn', collection_ids: [keywordOnly] }));
    expect(chunks.at(-1)).toMatchObject({ type: 'error', status: 504 });
  });

  it('a client that disconnects mid-answer cancels the generation upstream', async () => {
    double.enqueue({ stallAfterFirstChunk: true });
    const abort = new AbortController();
    const res = await ask({ question: 'foghorn', collection_ids: [keywordOnly] }, { signal: abort.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let seen = '';
    while (!seen.includes('text-delta')) seen += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    await reader.cancel().catch(() => {});
    await eventually(() => double.closedByClient > 0, 5000);
    const recorded = await eventually(async () => {
      const qs = await t.loam.services.knowledge.knowledge.store.queries(t.loam.platform.database.db, 'default', 1);
      return qs[0]?.outcome === 'cancelled' ? qs[0] : undefined;
    });
    expect(recorded?.outcome).toBe('cancelled');
  });

  it('POST /api/v1/embeddings returns the vectors of the configured model', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/embeddings',
      headers: t.admin,
      payload: { input: ['a', 'b'], model: 'embed-small' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().data.embeddings).toEqual([LlmTestDouble.vectorOf('a'), LlmTestDouble.vectorOf('b')]);
  });
});
