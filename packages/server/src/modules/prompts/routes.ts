import { PassThrough } from 'node:stream';
import {
  CreatePrompt,
  GeneratePrompt,
  GenerationResult,
  type GenerationStreamPart,
  GetPromptQuery,
  IdParams,
  ListPromptsQuery,
  PromptEnvelope,
  PromptLabelEnvelope,
  PromptLabelParams,
  PromptList,
  PromptVersionList,
  PromptVersionsQuery,
  RenderPrompt,
  RenderedPrompt,
  SetPromptLabel,
  UpdatePrompt,
} from '@loam/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { contextOf } from '../../platform/http/context.js';
import { toAppError } from '../../platform/http/errors-render.js';
import type { LoamApp } from '../../platform/http/server.js';
import type { PromptService } from './service.js';

const read = { scopes: ['ai:read'] } as const;
const write = { scopes: ['ai:write'] } as const;
/** contracts/atriumn.md §7, per principal and endpoint; the routes the contract does not list follow their closest kin. */
const perMinute = (limit: number) => ({ limit, windowSec: 60 });
const tags = ['Prompts (Atriumn)'];

/**
 * Aborts when the client goes away before the answer is complete. The response's `close`
 * (not the request's, which fires once the body is read) tells a disconnect from a finished reply.
 */
function abortOnDisconnect(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller;
}

const wantsEventStream = (request: FastifyRequest, stream: boolean | undefined) =>
  stream ?? /\btext\/event-stream\b/i.test(request.headers.accept ?? '');

export interface PromptRouteOptions {
  /** Comment lines sent on an idle event stream so proxies keep it open. */
  heartbeatMs: number;
}

/** The Atriumn AI service routes (contracts/atriumn.md §4) plus versions, labels, render and generate. */
export function promptRoutes(app: LoamApp, prompts: PromptService, opts: PromptRouteOptions): void {
  app.post(
    '/prompts',
    {
      config: { auth: write, rateLimit: perMinute(10) },
      schema: { tags, summary: 'Create a prompt (version 1)', body: CreatePrompt, response: { 201: PromptEnvelope } },
    },
    async (request, reply) => {
      const prompt = await prompts.create(contextOf(request, request.body.tenantId), request.body);
      return reply.code(201).send({ prompt });
    },
  );

  app.get(
    '/prompts',
    {
      config: { auth: read, rateLimit: perMinute(20) },
      schema: {
        tags,
        summary: 'List prompts (latest versions), filtered by modelId and tags (all must match)',
        querystring: ListPromptsQuery,
        response: { 200: PromptList },
      },
    },
    async (request) => prompts.list(contextOf(request, request.query.tenantId), request.query),
  );

  app.get(
    '/prompts/:id',
    {
      config: { auth: read, rateLimit: perMinute(30) },
      schema: {
        tags,
        summary: 'Get a prompt: the latest version, or ?version=n, or ?label=name',
        params: IdParams,
        querystring: GetPromptQuery,
        response: { 200: PromptEnvelope },
      },
    },
    async (request) => ({ prompt: await prompts.get(contextOf(request), request.params.id, request.query) }),
  );

  app.put(
    '/prompts/:id',
    {
      config: { auth: write, rateLimit: perMinute(10) },
      schema: {
        tags,
        summary: 'Partially update a prompt: the keys present change, and a new version is written',
        params: IdParams,
        body: UpdatePrompt,
        response: { 200: PromptEnvelope },
      },
    },
    async (request) => ({ prompt: await prompts.update(contextOf(request), request.params.id, request.body) }),
  );

  app.delete(
    '/prompts/:id',
    {
      config: { auth: write, rateLimit: perMinute(10) },
      schema: { tags, summary: 'Delete a prompt with all its versions and labels', params: IdParams },
    },
    async (request, reply) => {
      await prompts.delete(contextOf(request), request.params.id);
      return reply.code(204).send();
    },
  );

  promptUseRoutes(app, prompts, opts);
}

/** A prompt's versions and labels, and rendering and generating with it. */
function promptUseRoutes(app: LoamApp, prompts: PromptService, opts: PromptRouteOptions): void {
  app.get(
    '/prompts/:id/versions',
    {
      config: { auth: read, rateLimit: perMinute(30) },
      schema: {
        tags,
        summary: 'Versions of a prompt, newest first, with who wrote them and their labels',
        params: IdParams,
        querystring: PromptVersionsQuery,
        response: { 200: PromptVersionList },
      },
    },
    async (request) => prompts.versions(contextOf(request), request.params.id, request.query),
  );

  app.put(
    '/prompts/:id/labels/:label',
    {
      config: { auth: write, rateLimit: perMinute(10) },
      schema: {
        tags,
        summary: 'Point a label (production, staging, …) at a version',
        params: PromptLabelParams,
        body: SetPromptLabel,
        response: { 200: PromptLabelEnvelope },
      },
    },
    async (request) => {
      const { id, label } = request.params;
      return { label: await prompts.setLabel(contextOf(request), id, label, request.body.version) };
    },
  );

  app.delete(
    '/prompts/:id/labels/:label',
    {
      config: { auth: write, rateLimit: perMinute(10) },
      schema: { tags, summary: 'Remove a label', params: PromptLabelParams },
    },
    async (request, reply) => {
      await prompts.deleteLabel(contextOf(request), request.params.id, request.params.label);
      return reply.code(204).send();
    },
  );

  app.post(
    '/prompts/:id/render',
    {
      config: { auth: read, rateLimit: perMinute(60) },
      schema: {
        tags,
        summary: 'Render a version with variables (plain substitution)',
        params: IdParams,
        body: RenderPrompt,
        response: { 200: RenderedPrompt },
      },
    },
    async (request) => prompts.render(contextOf(request), request.params.id, request.body),
  );

  app.post(
    '/prompts/:id/generate',
    {
      config: { auth: write, rateLimit: perMinute(20) },
      // The event stream must reach the client part by part; compression would buffer it.
      compress: false,
      schema: {
        tags,
        summary: 'Render, then generate with the prompt’s model (JSON, or Server-Sent Events with stream: true)',
        params: IdParams,
        body: GeneratePrompt,
        response: { 200: GenerationResult },
      },
    },
    async (request, reply) => {
      const ctx = contextOf(request);
      const { id } = request.params;
      const disconnect = abortOnDisconnect(reply);
      if (!wantsEventStream(request, request.body.stream)) return prompts.generate(ctx, id, request.body, { signal: disconnect.signal });

      // Errors up to here (unknown prompt, render errors, no provider, upstream refusal) answer as JSON.
      const stream = await prompts.generateStream(ctx, id, request.body, { signal: disconnect.signal });
      const out = new PassThrough();
      const send = (part: GenerationStreamPart) => out.write(`data: ${JSON.stringify(part)}\n\n`);
      const heartbeat = setInterval(() => out.write(': heartbeat\n\n'), opts.heartbeatMs);
      reply
        .code(200)
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache, no-transform')
        .header('x-accel-buffering', 'no');
      void (async () => {
        send({ type: 'start', promptId: stream.promptId, version: stream.version, provider: stream.provider, model: stream.model });
        try {
          for await (const part of stream.parts) {
            if (part.type === 'text-delta') send({ type: 'text-delta', delta: part.text });
            else
              send({
                type: 'finish',
                finishReason: part.finishReason,
                usage: part.usage,
                provider: part.provider,
                model: part.model,
                latencyMs: part.latencyMs,
              });
          }
        } catch (err) {
          const { appError, unexpected } = toAppError(err);
          if (unexpected) request.log.error({ err }, 'unexpected error while streaming a generation');
          send({ type: 'error', error: appError.code, error_description: appError.detail });
        } finally {
          clearInterval(heartbeat);
          out.end();
        }
      })();
      // The 200 schema describes the JSON answer; a stream body bypasses serialization.
      return reply.send(out as never);
    },
  );
}
