import { type UpstreamResponse, lines, postJson, readJson } from './http.js';
import {
  type ChatCompletion,
  type ChatRequest,
  type ChatStreamPart,
  type EmbedRequest,
  type Embeddings,
  type LlmProvider,
  type ProviderConfig,
  UpstreamError,
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

  constructor(config: ProviderConfig) {
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

  private post(path: string, body: unknown, signal: AbortSignal): Promise<UpstreamResponse> {
    return postJson({ provider: this.name, url: `${this.baseUrl}${path}`, headers: {}, body, signal });
  }

  async chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    const res = await this.post('/api/chat', this.body(request, false), signal);
    const body = await readJson<OllamaChatChunk>(res, this.name);
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
    const body = await readJson<{ embeddings?: number[][]; prompt_eval_count?: number }>(res, this.name);
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
async function* ndjson<T>(res: UpstreamResponse): AsyncGenerator<T> {
  for await (const line of lines(res)) if (line.trim()) yield JSON.parse(line) as T;
}
