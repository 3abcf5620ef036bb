import type {
  EnvelopeOf,
  GenerateRequest,
  GenerateResult,
  GenerateStreamPart,
  LlmSettings,
  LlmSettingsUpdate,
  LlmUsageQuery,
  LlmUsageReport,
} from '@loam/api';
import { type APIPromise, APIResource, dataOf, type RequestOptions } from '../core.js';
import { APIError } from '../errors.js';
import { Stream, safeJSON } from '../streaming.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;
type GenerateBody = Omit<GenerateRequest, 'stream'>;

/**
 * The LLM gateway (`/api/v1/llm`): any configured model through one API, with privacy on the
 * way out, retries, fallback and per-tenant quotas. (OpenAI SDKs can use Loam too: point their
 * `baseURL` at `<loam>/v1` and use a Loam API key.)
 */
export class Llm extends APIResource {
  /**
   * One whole answer.
   * @example
   * const { text, usage } = await loam.llm.generate({ model: 'gpt-4o-mini', prompt: 'Say hi', privacy: { mode: 'pseudonymize' } });
   */
  generate(body: GenerateBody, options?: Opts): APIPromise<GenerateResult> {
    return dataOf(this.client.request<EnvelopeOf<GenerateResult>>('POST', '/api/v1/llm/generate', { ...options, body }));
  }

  /**
   * A streamed answer: parts `start`, `delta`…, `finish` (with usage and metadata). Cancel with
   * `signal`, `stream.abort()` or by leaving the loop (the upstream call is cancelled too).
   * @example
   * for await (const part of loam.llm.stream({ model: 'llama3.1', prompt: 'Tell a story' })) {
   *   if (part.type === 'delta') process.stdout.write(part.text);
   * }
   */
  stream(body: GenerateBody, options: Opts = {}): Stream<Exclude<GenerateStreamPart, { type: 'error' }>> {
    return new Stream(
      (signal) =>
        this.client.requestResponse('POST', '/api/v1/llm/generate', {
          ...options,
          body: { ...body, stream: true },
          signal,
          headers: { accept: 'text/event-stream' },
        }),
      (event) => {
        const part = safeJSON(event.data) as GenerateStreamPart | undefined;
        if (!part) return undefined;
        if (part.type === 'error') throw APIError.from(part.status || 502, { code: part.code, detail: part.detail }, new Headers());
        return part;
      },
      options.signal,
    );
  }

  /** Models clients may name. @example const models = await loam.llm.models(); */
  models(options?: Opts): APIPromise<{ id: string; provider: string }[]> {
    return dataOf(this.client.request<EnvelopeOf<{ id: string; provider: string }[]>>('GET', '/api/v1/llm/models', options));
  }

  /** Tokens and calls per UTC day and model. @example const { totals } = await loam.llm.usage({ from: '2026-11-01' }); */
  usage(query: LlmUsageQuery = {}, options?: Opts): APIPromise<LlmUsageReport> {
    return dataOf(this.client.request<EnvelopeOf<LlmUsageReport>>('GET', '/api/v1/llm/usage', { ...options, query: { ...query } }));
  }

  /** The tenant's privacy mode and daily token quota. @example const s = await loam.llm.settings(); */
  settings(options?: Opts): APIPromise<LlmSettings> {
    return dataOf(this.client.request<EnvelopeOf<LlmSettings>>('GET', '/api/v1/llm/settings', options));
  }

  /** @example await loam.llm.updateSettings({ privacy_mode: 'pseudonymize', daily_token_quota: 1_000_000 }); */
  updateSettings(body: LlmSettingsUpdate, options?: Opts): APIPromise<LlmSettings> {
    return dataOf(this.client.request<EnvelopeOf<LlmSettings>>('PUT', '/api/v1/llm/settings', { ...options, body }));
  }
}
