import {
  type ChatCompletion,
  type ChatRequest,
  type ChatStreamPart,
  type EmbedRequest,
  type Embeddings,
  type LlmProvider,
  type ProviderConfig,
  UpstreamError,
  retryAfterMsOf,
} from './types.js';

interface OllamaChatChunk {
  message?: { role?: string; content?: string };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  error?: string;
}

/** Ollama's native API: POST /api/chat (one JSON answer, or NDJSON when streaming) and /api/embed. */
export class OllamaProvider implements LlmProvider {
  readonly kind = 'ollama' as const;
  readonly name: string;
  private readonly baseUrl: string;

  constructor(
    config: ProviderConfig,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.name = config.name;
    this.baseUrl = (config.baseUrl || 'http://127.0.0.1:11434').replace(/\/+$/, '');
  }

  private body(request: ChatRequest, stream: boolean) {
    const options: Record<string, unknown> = {};
    if (request.temperature !== undefined) options.temperature = request.temperature;
    if (request.topP !== undefined) options.top_p = request.topP;
    if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
    if (request.stop?.length) options.stop = request.stop;
    return { model: request.model, messages: request.messages, stream, options };
  }

  private async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw err;
      throw new UpstreamError(this.name, undefined, `cannot reach Ollama at ${this.baseUrl}: ${(err as Error).message}`);
    }
    if (!res.ok) {
      const text = await res.text().catch(() => '');
      let detail = text.slice(0, 500);
      try {
        detail = (JSON.parse(text) as { error?: string }).error ?? detail;
      } catch {}
      throw new UpstreamError(this.name, res.status, detail || res.statusText, retryAfterMsOf(res.headers));
    }
    return res;
  }

  async chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    const res = await this.post('/api/chat', this.body(request, false), signal);
    const body = (await res.json()) as OllamaChatChunk;
    return { text: body.message?.content ?? '', ...finishOf(body) };
  }

  async openChatStream(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatStreamPart>> {
    const res = await this.post('/api/chat', this.body(request, true), signal);
    const name = this.name;
    return (async function* () {
      let finished = false;
      for await (const chunk of ndjson<OllamaChatChunk>(res)) {
        if (chunk.error) throw new UpstreamError(name, 500, chunk.error);
        if (chunk.message?.content) yield { type: 'text-delta', text: chunk.message.content } as const;
        if (chunk.done) {
          finished = true;
          yield { type: 'finish', ...finishOf(chunk) } as const;
        }
      }
      if (!finished) throw new UpstreamError(name, undefined, 'the stream ended before Ollama reported done');
    })();
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<Embeddings> {
    const res = await this.post('/api/embed', { model: request.model, input: request.input }, signal);
    const body = (await res.json()) as { embeddings?: number[][]; prompt_eval_count?: number };
    return { embeddings: body.embeddings ?? [], usage: { inputTokens: body.prompt_eval_count ?? 0 } };
  }
}

function finishOf(chunk: OllamaChatChunk): Omit<ChatCompletion, 'text'> {
  const inputTokens = chunk.prompt_eval_count ?? 0;
  const outputTokens = chunk.eval_count ?? 0;
  return {
    finishReason: chunk.done_reason || 'stop',
    usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens },
  };
}

/** Newline-delimited JSON from a response body, one object per line. */
async function* ndjson<T>(res: Response): AsyncGenerator<T> {
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let nl = buffer.indexOf('\n');
    while (nl >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) yield JSON.parse(line) as T;
      nl = buffer.indexOf('\n');
    }
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield JSON.parse(rest) as T;
}
