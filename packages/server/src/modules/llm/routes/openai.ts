import { ChatCompletionRequest, EmbeddingsRequest } from '@loam/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { contextOf } from '../../../platform/http/context.js';
import { AppError } from '../../../platform/errors.js';
import { toAppError } from '../../../platform/http/errors-render.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { GatewayChatInput, LlmGateway } from '../gateway.js';
import type { PrivacyMode } from '../store.js';
import type { ChatMessage } from '../types.js';
import { abortOnDisconnect, openEventStream } from './sse.js';

const tags = ['OpenAI-compatible'];
const MODES = new Set(['off', 'detect', 'redact', 'pseudonymize']);

/** OpenAI's error `type` for a status (the SDKs pick their error class by status). */
function openAiType(status: number): string {
  if (status === 400 || status === 404 || status === 409 || status === 413 || status === 415 || status === 422)
    return status === 404 ? 'not_found_error' : 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 429) return 'rate_limit_error';
  return 'server_error';
}

function openAiError(error: AppError) {
  const param = error.fields?.[0]?.field;
  return { error: { message: error.detail, type: openAiType(error.status), param: param ?? null, code: error.code } };
}

function sendOpenAiError(request: FastifyRequest, reply: FastifyReply, err: unknown) {
  const { appError, unexpected } = toAppError(err);
  if (unexpected) request.log.error({ err }, 'unexpected error');
  if (appError.headers) reply.headers(appError.headers);
  return reply.code(appError.status).type('application/json').serializer(JSON.stringify).send(openAiError(appError));
}

function privacyOf(request: FastifyRequest): PrivacyMode | undefined {
  const header = request.headers['x-loam-privacy'];
  if (header === undefined) return undefined;
  const mode = String(header).trim().toLowerCase();
  if (!MODES.has(mode))
    throw new AppError('invalid_request', 400, `X-Loam-Privacy must be one of off, detect, redact, pseudonymize (got '${header}')`);
  return mode as PrivacyMode;
}

function messagesOf(body: ChatCompletionRequest): ChatMessage[] {
  return body.messages.map((m, i) => {
    const role = m.role === 'developer' ? 'system' : m.role;
    if (role !== 'system' && role !== 'user' && role !== 'assistant')
      throw new AppError('validation_error', 400, `messages[${i}].role '${m.role}' is not supported (system, developer, user, assistant)`, [
        { field: `messages.${i}.role`, code: 'invalid_value', message: 'unsupported role' },
      ]);
    const content =
      typeof m.content === 'string'
        ? m.content
        : (m.content ?? [])
            .filter((p) => p.type === 'text')
            .map((p) => p.text ?? '')
            .join('');
    return { role, content };
  });
}

function inputOf(request: FastifyRequest, body: ChatCompletionRequest): GatewayChatInput {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  return {
    model: body.model,
    messages: messagesOf(body),
    temperature: body.temperature ?? undefined,
    topP: body.top_p ?? undefined,
    maxTokens,
    stop: body.stop == null ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop],
    privacyMode: privacyOf(request),
  };
}

const usageOf = (u: { inputTokens: number; outputTokens: number; totalTokens: number }) => ({
  prompt_tokens: u.inputTokens,
  completion_tokens: u.outputTokens,
  total_tokens: u.totalTokens,
});

/** Little-endian float32s in base64, as OpenAI answers `encoding_format: base64`. */
function base64Of(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/**
 * `/v1/chat/completions`, `/v1/embeddings`, `/v1/models`: OpenAI's wire format with a Loam API
 * key as the bearer token, so OpenAI SDKs work by changing `baseURL` and `apiKey`. Errors are
 * OpenAI-shaped; `X-Loam-Privacy` sets the privacy mode (bodies stay OpenAI's).
 */
export async function openAiRoutes(app: LoamApp, gateway: LlmGateway, opts: { heartbeatMs: number; perMinute: number }): Promise<void> {
  const config = {
    auth: { scopes: ['llm:generate'] },
    rateLimit: { limit: opts.perMinute, windowSec: 60, burst: Math.max(10, Math.ceil(opts.perMinute / 10)) },
  };
  await app.register(async (plugin) => {
    const scope = plugin as LoamApp;
    // Everything failing on these routes (authentication, rate limits, validation) speaks OpenAI.
    scope.setErrorHandler((error, request, reply) => sendOpenAiError(request, reply, error));

    scope.post(
      '/v1/chat/completions',
      { config, compress: false, schema: { tags, summary: 'OpenAI chat completions (streamed or not)', body: ChatCompletionRequest } },
      async (request, reply) => {
        const ctx = contextOf(request);
        const input = inputOf(request, request.body);
        const call = { signal: abortOnDisconnect(reply), operation: 'chat' as const };
        const id = `chatcmpl-${request.id}`;
        const created = Math.floor(Date.now() / 1000);
        if (!request.body.stream) {
          const r = await gateway.generate(ctx, input, call);
          reply.header('x-loam-provider', r.provider).header('x-loam-attempts', String(r.attempts));
          return reply.type('application/json').send({
            id,
            object: 'chat.completion',
            created,
            model: r.model,
            choices: [
              { index: 0, message: { role: 'assistant', content: r.text, refusal: null }, logprobs: null, finish_reason: r.finishReason },
            ],
            usage: usageOf(r.usage),
            system_fingerprint: null,
          });
        }
        const stream = await gateway.stream(ctx, input, call);
        reply.header('x-loam-provider', stream.provider);
        const sse = openEventStream(reply, opts.heartbeatMs);
        const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
          sse.data({ id, object: 'chat.completion.chunk', created, model: stream.model, system_fingerprint: null, choices, ...extra });
        const includeUsage = request.body.stream_options?.include_usage === true;
        void (async () => {
          try {
            chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
            for await (const part of stream.parts) {
              if (part.type === 'text-delta') chunk([{ index: 0, delta: { content: part.text }, logprobs: null, finish_reason: null }]);
              else {
                chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: part.finishReason }]);
                if (includeUsage) chunk([], { usage: usageOf(part.usage) });
              }
            }
            sse.data('[DONE]');
          } catch (err) {
            const { appError, unexpected } = toAppError(err);
            if (unexpected) request.log.error({ err }, 'unexpected error while streaming a chat completion');
            sse.data(openAiError(appError));
          } finally {
            sse.end();
          }
        })();
        return reply.send(sse.body as never);
      },
    );

    scope.post(
      '/v1/embeddings',
      { config, schema: { tags, summary: 'OpenAI embeddings', body: EmbeddingsRequest } },
      async (request, reply) => {
        const ctx = contextOf(request);
        const texts = Array.isArray(request.body.input) ? request.body.input : [request.body.input];
        const r = await gateway.embed(
          ctx,
          { model: request.body.model, input: texts, privacyMode: privacyOf(request) },
          { signal: abortOnDisconnect(reply) },
        );
        const base64 = request.body.encoding_format === 'base64';
        return reply.type('application/json').send({
          object: 'list',
          data: r.embeddings.map((embedding, index) => ({
            object: 'embedding',
            index,
            embedding: base64 ? base64Of(embedding) : embedding,
          })),
          model: r.model,
          usage: { prompt_tokens: r.usage.inputTokens, total_tokens: r.usage.inputTokens },
        });
      },
    );

    scope.get('/v1/models', { config, schema: { tags, summary: 'OpenAI model list' } }, async (request, reply) => {
      contextOf(request);
      return reply.type('application/json').send({
        object: 'list',
        data: gateway.models().map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.provider })),
      });
    });
  });
}
