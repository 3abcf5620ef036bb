import { createRequire } from 'node:module';
import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
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

// The SDK (~100 modules, ~10 MB) is loaded when the first OpenAI/Azure provider is configured,
// not by every start: a server without LLM providers never needs it.
const require = createRequire(import.meta.url);
let sdkModule: typeof import('openai') | undefined;
const sdk = (): typeof import('openai') => {
  sdkModule ??= require('openai') as typeof import('openai');
  return sdkModule;
};

/** The SDK's own retries and timeouts are off: LlmService owns both, for every provider alike. */
const SDK_OPTIONS = { maxRetries: 0, timeout: 24 * 3600 * 1000 };

/**
 * OpenAI chat completions and embeddings through the `openai` package: api.openai.com, any
 * OpenAI-compatible server (`baseUrl`), or Azure OpenAI (`kind: 'azure'`, deployment URLs,
 * `api-key` header or a Microsoft Entra bearer token).
 */
export class OpenAiProvider implements LlmProvider {
  readonly name: string;
  readonly kind: 'openai' | 'azure';
  private readonly client: OpenAI;
  private readonly maxTokensField: 'max_tokens' | 'max_completion_tokens';
  private readonly chatDeployment?: string;

  constructor(config: ProviderConfig, fetchImpl?: typeof fetch) {
    const { OpenAI, AzureOpenAI } = sdk();
    this.name = config.name;
    this.kind = config.kind === 'azure' ? 'azure' : 'openai';
    this.maxTokensField = config.maxTokensField ?? 'max_tokens';
    if (config.kind === 'azure') {
      this.chatDeployment = config.deployment;
      const tokenProvider = entraTokenProvider(config, fetchImpl ?? fetch);
      this.client = new AzureOpenAI({
        ...SDK_OPTIONS,
        endpoint: config.baseUrl,
        apiVersion: config.apiVersion ?? '2024-10-21',
        // The SDK sends `api-key` for a key, `Authorization: Bearer` from the token provider.
        ...(tokenProvider ? { azureADTokenProvider: tokenProvider } : { apiKey: config.apiKey }),
        ...(fetchImpl ? { fetch: fetchImpl } : {}),
      });
    } else {
      this.client = new OpenAI({
        ...SDK_OPTIONS,
        // Local OpenAI-compatible servers often need no key; the SDK insists on one.
        apiKey: config.apiKey || 'unused',
        baseURL: config.baseUrl || undefined,
        ...(fetchImpl ? { fetch: fetchImpl } : {}),
      });
    }
  }

  private params(request: ChatRequest, deployment?: string): ChatCompletionCreateParamsBase {
    const params: ChatCompletionCreateParamsBase = {
      // On Azure the model names the deployment in the URL (/openai/deployments/{model}/…).
      model: deployment ?? request.model,
      messages: request.messages,
    };
    if (request.temperature !== undefined) params.temperature = request.temperature;
    if (request.topP !== undefined) params.top_p = request.topP;
    if (request.stop?.length) params.stop = request.stop;
    if (request.maxTokens !== undefined) params[this.maxTokensField] = request.maxTokens;
    return params;
  }

  async chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion> {
    try {
      const res = await this.client.chat.completions.create({ ...this.params(request, this.chatDeployment), stream: false }, { signal });
      const choice = res.choices[0];
      return {
        text: choice?.message?.content ?? '',
        finishReason: choice?.finish_reason ?? 'stop',
        usage: usageOf(res.usage),
      };
    } catch (err) {
      throw this.upstreamError(err);
    }
  }

  async openChatStream(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatStreamPart>> {
    let stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
    try {
      stream = await this.client.chat.completions.create(
        { ...this.params(request, this.chatDeployment), stream: true, stream_options: { include_usage: true } },
        { signal },
      );
    } catch (err) {
      throw this.upstreamError(err);
    }
    const self = this;
    return (async function* () {
      let finishReason = 'stop';
      let usage = usageOf(undefined);
      try {
        for await (const chunk of stream) {
          const choice = chunk.choices[0];
          if (choice?.delta?.content) yield { type: 'text-delta', text: choice.delta.content } as const;
          if (choice?.finish_reason) finishReason = choice.finish_reason;
          if (chunk.usage) usage = usageOf(chunk.usage);
        }
      } catch (err) {
        throw self.upstreamError(err);
      }
      // The SDK ends an aborted stream quietly; that is not a finished answer.
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      yield { type: 'finish', finishReason, usage } as const;
    })();
  }

  async embed(request: EmbedRequest, signal: AbortSignal): Promise<Embeddings> {
    try {
      // `float` explicitly: the SDK otherwise asks for base64, which many compatible servers lack.
      const res = await this.client.embeddings.create({ model: request.model, input: request.input, encoding_format: 'float' }, { signal });
      return {
        embeddings: [...res.data].sort((a, b) => a.index - b.index).map((d) => d.embedding),
        usage: { inputTokens: res.usage?.prompt_tokens ?? 0 },
      };
    } catch (err) {
      throw this.upstreamError(err);
    }
  }

  /** SDK errors → UpstreamError; an abort stays an abort so the service can tell timeout from cancel. */
  private upstreamError(err: unknown): unknown {
    const { APIError, APIUserAbortError } = sdk();
    if (err instanceof APIUserAbortError) return err;
    if (err instanceof APIError) {
      const detail = (err.error as { message?: string } | undefined)?.message ?? err.message;
      return new UpstreamError(this.name, err.status, detail, retryAfterMsOf(err.headers));
    }
    return err;
  }
}

function usageOf(u: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null | undefined) {
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
