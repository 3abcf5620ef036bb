/**
 * The provider layer every LLM feature uses: one interface for chat generation (whole and
 * streamed) and embeddings, implemented by one adapter per provider wire protocol.
 */

export type ProviderKind = 'openai' | 'azure' | 'ollama';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** What an adapter reports for a finished generation. */
export interface ChatCompletion {
  text: string;
  finishReason: string;
  usage: TokenUsage;
}

/** What a streamed generation yields: text as it comes, then one `finish`. */
export type ChatStreamPart = { type: 'text-delta'; text: string } | ({ type: 'finish' } & Omit<ChatCompletion, 'text'>);

export interface EmbedRequest {
  model: string;
  input: string[];
}

export interface Embeddings {
  embeddings: number[][];
  usage: { inputTokens: number };
}

/** Metadata the service adds to every answer. */
export interface CallMetadata {
  provider: string;
  model: string;
  latencyMs: number;
  /** Upstream requests made, retries and fallbacks included. */
  attempts: number;
}

export type ChatResult = ChatCompletion & CallMetadata;
export type EmbedResult = Embeddings & CallMetadata;
export type ChatResultStreamPart = { type: 'text-delta'; text: string } | ({ type: 'finish' } & Omit<ChatResult, 'text'>);

/**
 * One adapter per wire protocol. Adapters make exactly one upstream call per method and throw
 * `UpstreamError` for HTTP failures; retries, timeouts, cooldowns and metrics live in LlmService
 * so every provider behaves the same.
 */
export interface LlmProvider {
  readonly name: string;
  readonly kind: ProviderKind;
  chat(request: ChatRequest, signal: AbortSignal): Promise<ChatCompletion>;
  /** Resolves once the upstream accepted the request (so it can be retried until then); yields parts after. */
  openChatStream(request: ChatRequest, signal: AbortSignal): Promise<AsyncIterable<ChatStreamPart>>;
  embed(request: EmbedRequest, signal: AbortSignal): Promise<Embeddings>;
}

/** How a provider is configured (LOAM_LLM_PROVIDERS / `llmProviders` in the config file). */
export interface ProviderConfig {
  name: string;
  kind: ProviderKind;
  baseUrl?: string;
  apiKey?: string;
  /** Model ids this provider serves; empty = any model id routed to it by `provider/model`. */
  models: string[];
  /** Azure: the deployment chat requests go to (default: the model id names the deployment). */
  deployment?: string;
  /** Azure: the `api-version` query parameter. */
  apiVersion?: string;
  /** Azure: a Microsoft Entra access token used instead of an API key. */
  entraToken?: string;
  /** Azure: Microsoft Entra client credentials, exchanged for tokens as needed. */
  entraTenantId?: string;
  entraClientId?: string;
  entraClientSecret?: string;
  /** Azure: the Entra authority (default https://login.microsoftonline.com). */
  entraAuthorityHost?: string;
  /** OpenAI-compatible: the request field carrying max tokens (`max_completion_tokens` for reasoning models). */
  maxTokensField?: 'max_tokens' | 'max_completion_tokens';
}

/** An HTTP failure of the upstream API (or the network) that the service may retry. */
export class UpstreamError extends Error {
  constructor(
    readonly provider: string,
    /** HTTP status, undefined for network failures. */
    readonly status: number | undefined,
    message: string,
    /** From Retry-After / retry-after-ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }

  get retryable(): boolean {
    return this.status === undefined || this.status === 408 || this.status === 409 || this.status === 429 || this.status >= 500;
  }
}

/** Retry-After as seconds or an HTTP date; OpenAI's `retry-after-ms` first when present. */
export function retryAfterMsOf(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const ra = headers.get('retry-after')?.trim();
  if (!ra) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra)) return Math.ceil(Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
