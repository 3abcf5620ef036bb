/**
 * TEST DOUBLE for paid LLM APIs: one local HTTP server that speaks the wire protocols Loam's
 * adapters use — OpenAI chat completions (JSON and SSE streaming) and embeddings, Azure OpenAI's
 * deployment URLs with the `api-key` header, Ollama's native /api/chat (JSON and NDJSON
 * streaming) and /api/embed, and the Microsoft Entra token endpoint. It answers deterministically
 * ("echo: <last user message>"), records every request, can be scripted to fail or stall, and
 * notices when a client closes a connection before the answer is complete.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  at: number;
}

/** What the next request gets instead of the normal answer. */
export type ScriptedBehavior =
  | { status: number; headers?: Record<string, string>; body?: unknown }
  /** Accept the request and never answer (until the client gives up). */
  | { stall: true }
  /** Stream the first part of the answer, then stall. */
  | { stallAfterFirstChunk: true };

export class LlmTestDouble {
  readonly requests: RecordedRequest[] = [];
  /** Requests whose connection the client closed before the answer was complete. */
  closedByClient = 0;
  /** Streams answers in pieces of this many characters instead of word by word (splits words and tokens). */
  streamChunkChars: number | undefined;
  private readonly script: ScriptedBehavior[] = [];
  private readonly open = new Set<ServerResponse>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<LlmTestDouble> {
    let double: LlmTestDouble | undefined;
    const server = createServer((req, res) => void double?.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    double = new LlmTestDouble(server, `http://127.0.0.1:${port}`);
    return double;
  }

  /** The next requests (one behavior each, in order) get these instead of the normal answer. */
  enqueue(...behaviors: ScriptedBehavior[]): void {
    this.script.push(...behaviors);
  }

  reset(): void {
    this.requests.length = 0;
    this.script.length = 0;
    this.closedByClient = 0;
    this.streamChunkChars = undefined;
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://double');
    let body: Record<string, unknown> = {};
    if (raw) {
      try {
        body = (req.headers['content-type'] ?? '').includes('json') ? JSON.parse(raw) : Object.fromEntries(new URLSearchParams(raw));
      } catch {
        body = { raw };
      }
    }
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      at: Date.now(),
    });
    this.open.add(res);
    res.on('close', () => {
      this.open.delete(res);
      if (!res.writableFinished) this.closedByClient++;
    });

    const behavior = this.script.shift();
    if (behavior && 'status' in behavior) {
      res.writeHead(behavior.status, { 'content-type': 'application/json', ...behavior.headers });
      res.end(JSON.stringify(behavior.body ?? { error: { message: `scripted ${behavior.status}`, type: 'server_error' } }));
      return;
    }
    if (behavior && 'stall' in behavior) return; // never answers

    const stallAfterFirst = behavior !== undefined && 'stallAfterFirstChunk' in behavior;
    const path = url.pathname;
    if (path.endsWith('/chat/completions')) return this.openAiChat(body, res, stallAfterFirst);
    if (path.endsWith('/embeddings')) return this.openAiEmbeddings(body, res);
    if (path === '/api/chat') return this.ollamaChat(body, res, stallAfterFirst);
    if (path === '/api/embed') return this.ollamaEmbed(body, res);
    if (path.endsWith('/oauth2/v2.0/token')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ token_type: 'Bearer', expires_in: 3599, access_token: `entra-token-for-${body.client_id}` }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: `no such route ${path}` } }));
  }

  /** "echo: <last user message>", split into words for streaming. */
  static answerTo(body: Record<string, unknown>): string {
    const messages = (body.messages as { role: string; content: string }[] | undefined) ?? [];
    const last = [...messages].reverse().find((m) => m.role === 'user');
    return `echo: ${last?.content ?? ''}`;
  }

  private static pieces(text: string): string[] {
    return text.match(/\S+\s*/g) ?? [text];
  }

  /** How a streamed answer is cut: word by word, or in fixed-size pieces when `streamChunkChars` is set. */
  private streamPieces(text: string): string[] {
    const size = this.streamChunkChars;
    if (!size) return LlmTestDouble.pieces(text);
    const out: string[] = [];
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
    return out;
  }

  private openAiChat(body: Record<string, unknown>, res: ServerResponse, stallAfterFirst: boolean): void {
    const text = LlmTestDouble.answerTo(body);
    const usage = {
      prompt_tokens: 7,
      completion_tokens: LlmTestDouble.pieces(text).length,
      total_tokens: 7 + LlmTestDouble.pieces(text).length,
    };
    const model = String(body.model);
    const maxTokens = (body.max_tokens ?? body.max_completion_tokens) as number | undefined;
    const finish = maxTokens !== undefined && maxTokens < usage.completion_tokens ? 'length' : 'stop';
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'chatcmpl-double',
          object: 'chat.completion',
          created: 1_700_000_000,
          model,
          choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: finish }],
          usage,
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-double', object: 'chat.completion.chunk', created: 1_700_000_000, model, choices, ...extra })}\n\n`;
    const pieces = this.streamPieces(text);
    res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    for (const [i, piece] of pieces.entries()) {
      res.write(chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]));
      if (stallAfterFirst && i === 0) return;
    }
    res.write(chunk([{ index: 0, delta: {}, finish_reason: finish }]));
    const options = body.stream_options as { include_usage?: boolean } | undefined;
    if (options?.include_usage) res.write(chunk([], { usage }));
    res.end('data: [DONE]\n\n');
  }

  /** Deterministic vectors: [length, vowels, words] of each input. */
  static vectorOf(text: string): number[] {
    return [text.length, (text.match(/[aeiou]/gi) ?? []).length, text.split(/\s+/).filter(Boolean).length];
  }

  private openAiEmbeddings(body: Record<string, unknown>, res: ServerResponse): void {
    const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        object: 'list',
        // Out of order on purpose: clients must sort by index.
        data: input.map((t, index) => ({ object: 'embedding', index, embedding: LlmTestDouble.vectorOf(t) })).reverse(),
        model: body.model,
        usage: { prompt_tokens: input.length * 3, total_tokens: input.length * 3 },
      }),
    );
  }

  private ollamaChat(body: Record<string, unknown>, res: ServerResponse, stallAfterFirst: boolean): void {
    const text = LlmTestDouble.answerTo(body);
    const pieces = LlmTestDouble.pieces(text);
    const options = (body.options ?? {}) as { num_predict?: number };
    const doneReason = options.num_predict !== undefined && options.num_predict < pieces.length ? 'length' : 'stop';
    const final = {
      model: body.model,
      created_at: '2026-11-23T12:00:00Z',
      done: true,
      done_reason: doneReason,
      prompt_eval_count: 5,
      eval_count: pieces.length,
    };
    if (body.stream === false) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...final, message: { role: 'assistant', content: text } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const [i, piece] of this.streamPieces(text).entries()) {
      res.write(
        `${JSON.stringify({ model: body.model, created_at: '2026-11-23T12:00:00Z', message: { role: 'assistant', content: piece }, done: false })}\n`,
      );
      if (stallAfterFirst && i === 0) return;
    }
    res.end(`${JSON.stringify({ ...final, message: { role: 'assistant', content: '' } })}\n`);
  }

  private ollamaEmbed(body: Record<string, unknown>, res: ServerResponse): void {
    const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({ model: body.model, embeddings: input.map((t) => LlmTestDouble.vectorOf(t)), prompt_eval_count: input.length * 2 }),
    );
  }
}
