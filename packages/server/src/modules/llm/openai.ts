import { lines, postJson, readJson } from './http.js';
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

type Usage = { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null | undefined;
interface ChatResponse {
  choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: Usage;
}
interface ChatChunk {
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: Usage;
  error?: { message?: string };
}

/**
 * OpenAI chat completions and embeddings, spoken over HTTP directly (see http.ts): api.openai.com,
 * any OpenAI-compatible server (`baseUrl`), or Azure OpenAI (`kind: 'azure'`: deployment URLs with
 * `api-version`, the `api-key` header or a Microsoft Entra bearer token).
 */
export class OpenAiProvider implements LlmProvider {
  readonly name: string;
  readonly kind: 'openai' | 'azure';
  private readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  private readonly chatDeployment?: string;
  private readonly baseUrl: string;
  private readonly apiVersion: string;
  private readonly authHeaders: () => Record<string, string> | Promise<Record<string, string>>;

  constructor(config: ProviderConfig, fetchImpl?: typeof fetch) {
    this.name = config.name;
    this.kind = config.kind === 'azure' ? 'azure' : 'openai';
    this.maxTokensField = config.maxTokensField ?? 'max_tokens';
    this.apiVersion = config.apiVersion ?? '2024-10-21';
    if (config.kind === 'azure') {
      this.chatDeployment = config.deployment;
      this.baseUrl = (config.baseUrl ?? '').replace(/\/+$/, '');
      const tokenProvider = entraTokenProvider(config, fetchImpl ?? fetch);
      const key = { 'api-key': config.apiKey ?? '' };
      this.authHeaders = tokenProvider ? async () => ({ authorization: `Bearer ${await tokenProvider()}` }) : () => key;
    } else {
      this.baseUrl = (config.baseUrl || 'https://api.openai.com/v1').replace(/\/+$/, '');
      // Local OpenAI-compatible servers often need no key; a placeholder keeps the header well-formed.
      const bearer = { authorization: `Bearer ${config.apiKey || 'unused'}` };
      this.authHeaders = () => bearer;
    }
  }

  /** On Azure the model names the deployment in the URL (/openai/deployments/{model}/…). */
  private url(operation: 'chat/completions' | 'embeddings', model: string): string {
    return this.kind === 'azure'
      ? `${this.baseUrl}/openai/deployments/${encodeURIComponent(model)}/${operation}?api-version=${encodeURIComponent(this.apiVersion)}`
      : `${this.baseUrl}/${operation}`;
  }

  private async post(operation: 'chat/completions' | 'embeddings', model: string, body: Record<string, unknown>, signal: AbortSignal) {
    return postJson({ provider: this.name, url: this.url(operation, model), headers: await this.authHeaders(), body, signal });
  }

  private params(request: ChatRequest, model: string): Record<string, unknown> {
    const params: Record<string, unknown> = { model, messages: request.messages };
    if (request.temperature !== undefined) params.temperature = request.temperature;
    if (request.topP !== undefined) params.top_p = request.topP;
    if (request.stop?.length) params.stop = request.stop;
    if (request.maxTokens !== undefined) params[this.maxTokensField] = request.maxTokens;
    return params;
  }

  async chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    const model = this.chatDeployment ?? request.model;
    const res = await this.post('chat/completions', model, { ...this.params(request, model), stream: false }, signal);
    const body = await readJson<ChatResponse>(res, this.name);
    const choice = body.choices?.[0];
    return { text: choice?.message?.content ?? '', finishReason: choice?.finish_reason ?? 'stop', usage: usageOf(body.usage) };
  }

  async openChatStream(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatStreamPart>> {
    const model = this.chatDeployment ?? request.model;
    const body = { ...this.params(request, model), stream: true, stream_options: { include_usage: true } };
    const res = await this.post('chat/completions', model, body, signal);
    const name = this.name;
    return (async function* () {
      let finishReason = 'stop';
      let usage = usageOf(undefined);
      try {
        // Server-Sent Events: one JSON chunk per `data:` line, then `data: [DONE]`.
        for await (const line of lines(res)) {
          if (!line.startsWith('data:')) continue;
          const data = line.slice(5).trim();
          if (data === '[DONE]') break;
          const chunk = JSON.parse(data) as ChatChunk;
          if (chunk.error) throw new UpstreamError(name, undefined, chunk.error.message ?? 'the provider reported an error mid-stream');
          const choice = chunk.choices?.[0];
          if (choice?.delta?.content) yield { type: 'text-delta', text: choice.delta.content } as const;
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          if (chunk.usage) usage = usageOf(chunk.usage);
        }
      } catch (err) {
        if (signal.aborted) throw signal.reason ?? err;
        throw err instanceof SyntaxError
          ? new UpstreamError(name, undefined, `the provider sent an invalid stream chunk: ${err.message}`)
          : err;
      }
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      yield { type: 'finish', finishReason, usage } as const;
    })();
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<Embeddings> {
    // `float` explicitly: many OpenAI-compatible servers cannot send base64.
    const res = await this.post(
      'embeddings',
      request.model,
      { model: request.model, input: request.input, encoding_format: 'float' },
      signal,
    );
    const body = await readJson<{ data?: { index: number; embedding: number[] }[]; usage?: { prompt_tokens?: number } }>(res, this.name);
    return {
      embeddings: [...(body.data ?? [])].sort((a, b) => a.index - b.index).map((d) => d.embedding),
      usage: { inputTokens: body.usage?.prompt_tokens ?? 0 },
    };
  }
}

function usageOf(u: Usage) {
  const inputTokens = u?.prompt_tokens ?? 0;
  const outputTokens = u?.completion_tokens ?? 0;
  return { inputTokens, outputTokens, totalTokens: u?.total_tokens ?? inputTokens + outputTokens };
}

const COGNITIVE_SERVICES_SCOPE = 'https://cognitiveservices.azure.com/.default';

/**
 * Microsoft Entra bearer tokens for Azure OpenAI: a fixed token, or the OAuth 2.0 client
 * credentials grant, cached until five minutes before expiry.
 */
function entraTokenProvider(config: ProviderConfig, fetchImpl: typeof fetch): (() => Promise<string>) | undefined {
  if (config.entraToken) {
    const token = config.entraToken;
    return async () => token;
  }
  if (!(config.entraTenantId && config.entraClientId && config.entraClientSecret)) return undefined;
  const authority = (config.entraAuthorityHost ?? 'https://login.microsoftonline.com').replace(/\/+$/, '');
  const url = `${authority}/${encodeURIComponent(config.entraTenantId)}/oauth2/v2.0/token`;
  let cached: { token: string; until: number } | undefined;
  return async () => {
    if (cached && cached.until > Date.now()) return cached.token;
    const res = await fetchImpl(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: config.entraClientId as string,
        client_secret: config.entraClientSecret as string,
        scope: COGNITIVE_SERVICES_SCOPE,
      }),
    });
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error_description?: string };
    if (!res.ok || !body.access_token)
      throw new UpstreamError(config.name, res.status, `Microsoft Entra token request failed: ${body.error_description ?? res.statusText}`);
    cached = { token: body.access_token, until: Date.now() + Math.max(0, (body.expires_in ?? 3600) - 300) * 1000 };
    return cached.token;
  };
}
