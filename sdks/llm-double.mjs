// TEST DOUBLE for a paid LLM API, used by sdks/testserver.mjs: a local HTTP server speaking
// OpenAI's chat completions wire format (JSON, and SSE when `stream: true`). It answers
// deterministically "echo: <last user message>", streamed word by word, with usage
// {prompt_tokens: 7, completion_tokens: <words>}. (The server's own suites use the fuller
// packages/server/src/test/llm-test-doubles.ts; this one only needs what the SDK suites call.)
import { createServer } from 'node:http';

/** Model ids the double's provider lists (Loam answers others with an error). */
export const LLM_DOUBLE_MODELS = ['gpt-test'];

function answerTo(body) {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  return `echo: ${last?.content ?? ''}`;
}

function chat(body, res) {
  const text = answerTo(body);
  const pieces = text.match(/\S+\s*/g) ?? [text];
  const usage = { prompt_tokens: 7, completion_tokens: pieces.length, total_tokens: 7 + pieces.length };
  const base = { id: 'chatcmpl-double', created: 1_700_000_000, model: String(body.model) };
  if (!body.stream) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage,
      }),
    );
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (choices, extra = {}) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices, ...extra })}\n\n`;
  res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
  for (const piece of pieces) res.write(chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]));
  res.write(chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]));
  if (body.stream_options?.include_usage) res.write(chunk([], { usage }));
  res.end('data: [DONE]\n\n');
}

/** Starts the double on a free local port; resolves to {url, close()}. */
export async function startLlmDouble() {
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    let body = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {}
    if (req.method === 'POST' && new URL(req.url ?? '/', 'http://double').pathname.endsWith('/chat/completions')) return chat(body, res);
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `no such route ${req.url}`, type: 'invalid_request_error' } }));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
