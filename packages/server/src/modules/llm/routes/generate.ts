import {
  GenerateEnvelope,
  GenerateRequest,
  type GenerateResult,
  type GenerateStreamPart,
  LlmModelsEnvelope,
  LlmSettingsEnvelope,
  LlmSettingsUpdate,
  LlmUsageEnvelope,
  LlmUsageQuery,
} from '@loam/api';
import { contextOf, sendEnvelope } from '../../../platform/http/context.js';
import { AppError } from '../../../platform/errors.js';
import { toAppError } from '../../../platform/http/errors-render.js';
import type { LoamApp } from '../../../platform/http/server.js';
import type { GatewayChatInput, GatewayChatResult, LlmGateway } from '../gateway.js';
import type { ChatMessage } from '../types.js';
import { abortOnDisconnect, openEventStream } from './sse.js';

const tags = ['LLM'];
const generateScope = { scopes: ['llm:generate'] } as const;

/** The unified request → the gateway's input (exactly one of `prompt` and `messages`). */
export function gatewayInputOf(body: GenerateRequest): GatewayChatInput {
  if ((body.prompt === undefined) === (body.messages === undefined))
    throw new AppError('validation_error', 400, 'Give exactly one of prompt or messages', [
      { field: 'prompt', code: 'invalid_value', message: 'exactly one of prompt, messages' },
    ]);
  const messages: ChatMessage[] = body.messages ?? [{ role: 'user', content: body.prompt ?? '' }];
  return {
    model: body.model,
    provider: body.provider,
    messages: body.system !== undefined ? [{ role: 'system', content: body.system }, ...messages] : messages,
    temperature: body.temperature,
    maxTokens: body.max_tokens,
    topP: body.top_p,
    stop: body.stop === undefined ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop],
    privacyMode: body.privacy?.mode,
  };
}

function resultOf(r: Omit<GatewayChatResult, 'text'>): Omit<GenerateResult, 'text'> {
  return {
    finish_reason: r.finishReason,
    usage: { prompt_tokens: r.usage.inputTokens, completion_tokens: r.usage.outputTokens, total_tokens: r.usage.totalTokens },
    provider: r.provider,
    model: r.model,
    latency_ms: r.latencyMs,
    attempts: r.attempts,
    privacy: r.privacy,
  };
}

/** `/api/v1/llm/*`: the unified generate API (JSON or SSE), usage per day, settings, models. */
export function generateRoutes(app: LoamApp, gateway: LlmGateway, opts: { heartbeatMs: number }): void {
  app.post(
    '/api/v1/llm/generate',
    {
      config: { auth: generateScope },
      // The event stream must reach the client part by part; compression would buffer it.
      compress: false,
      schema: {
        tags,
        summary: 'Generate with any configured model (JSON, or Server-Sent Events with stream: true)',
        body: GenerateRequest,
        response: { 200: GenerateEnvelope },
      },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      const input = gatewayInputOf(request.body);
      const call = { signal: abortOnDisconnect(reply), timeoutMs: request.body.timeout_ms, operation: 'generate' as const };
      if (!request.body.stream) {
        const r = await gateway.generate(ctx, input, call);
        return sendEnvelope(request, reply, { text: r.text, ...resultOf(r) });
      }
      // Errors up to here (validation, quota, no provider, upstream refusal) answer as problem+json.
      const stream = await gateway.stream(ctx, input, call);
      const sse = openEventStream(reply, opts.heartbeatMs);
      const send = (part: GenerateStreamPart) => sse.data(part);
      void (async () => {
        send({ type: 'start', provider: stream.provider, model: stream.model });
        try {
          for await (const part of stream.parts) {
            if (part.type === 'text-delta') send({ type: 'delta', text: part.text });
            else send({ type: 'finish', ...resultOf(part) });
          }
        } catch (err) {
          const { appError, unexpected } = toAppError(err);
          if (unexpected) request.log.error({ err }, 'unexpected error while streaming a generation');
          send({ type: 'error', code: appError.code, detail: appError.detail, status: appError.status });
        } finally {
          sse.end();
        }
      })();
      // The 200 schema describes the JSON answer; a stream body bypasses serialization.
      return reply.send(sse.body as never);
    },
  );

  app.get(
    '/api/v1/llm/models',
    {
      config: { auth: generateScope },
      schema: {
        tags,
        summary: 'Models clients may name (and the provider tried first)',
        response: { 200: LlmModelsEnvelope },
      },
    },
    async (request, reply) => {
      contextOf(request);
      return sendEnvelope(request, reply, gateway.models());
    },
  );

  app.get(
    '/api/v1/llm/usage',
    {
      config: { auth: { scopes: ['llm:read'] } },
      schema: { tags, summary: 'Tokens and calls per UTC day and model', querystring: LlmUsageQuery, response: { 200: LlmUsageEnvelope } },
    },
    async (request, reply) => sendEnvelope(request, reply, await gateway.usage(contextOf(request), request.query)),
  );

  app.get(
    '/api/v1/llm/settings',
    {
      config: { auth: { scopes: ['llm:read'] } },
      schema: { tags, summary: 'The tenant’s privacy mode and daily token quota', response: { 200: LlmSettingsEnvelope } },
    },
    async (request, reply) => sendEnvelope(request, reply, await gateway.settings(contextOf(request))),
  );

  app.put(
    '/api/v1/llm/settings',
    {
      config: { auth: { scopes: ['llm:admin'] } },
      schema: {
        tags,
        summary: 'Sets the tenant’s privacy mode (a floor for calls) and daily token quota',
        body: LlmSettingsUpdate,
        response: { 200: LlmSettingsEnvelope },
      },
    },
    async (request, reply) => sendEnvelope(request, reply, await gateway.updateSettings(contextOf(request), request.body)),
  );
}
