import type {
  CreatePrompt,
  GeneratePrompt,
  GenerationResult,
  GenerationStreamPart,
  ListPromptsQuery,
  Prompt,
  PromptLabel,
  PromptVersionList,
  PromptVersionsQuery,
  RenderPrompt,
  RenderedPrompt,
  UpdatePrompt,
} from '@loam/api';
import { type APIPromise, APIResource, path, type RequestOptions } from '../core.js';
import { APIError } from '../errors.js';
import { type PagePromise, tokenList } from '../pagination.js';
import { Stream, safeJSON } from '../streaming.js';

type Opts = Pick<RequestOptions, 'signal' | 'timeout' | 'maxRetries'>;

/** Versioned prompt templates, rendering and generation (the Atriumn AI service: `/prompts*`). */
export class Prompts extends APIResource {
  /**
   * Creates a prompt at version 1.
   * @example
   * const prompt = await loam.prompts.create({
   *   name: 'summarize', template: 'Summarize for {{audience}}:\n{{text}}',
   *   variables: [{ name: 'audience', defaultValue: 'engineers' }, { name: 'text', required: true }],
   * });
   */
  async create(body: CreatePrompt, options?: Opts): Promise<Prompt> {
    return (await this.client.request<{ prompt: Prompt }>('POST', '/prompts', { ...options, body })).prompt;
  }

  /**
   * The latest version, or the one named by `version` or `label`.
   * @example const prod = await loam.prompts.get(id, { label: 'production' });
   */
  async get(id: string, query: { version?: number; label?: string } = {}, options?: Opts): Promise<Prompt> {
    return (await this.client.request<{ prompt: Prompt }>('GET', path`/prompts/${id}`, { ...options, query })).prompt;
  }

  /**
   * Partial update: only the keys given change, and a new version is written (the old one stays readable).
   * @example const v2 = await loam.prompts.update(id, { template: 'Summarize briefly:\n{{text}}' });
   */
  async update(id: string, body: UpdatePrompt, options?: Opts): Promise<Prompt> {
    return (await this.client.request<{ prompt: Prompt }>('PUT', path`/prompts/${id}`, { ...options, body })).prompt;
  }

  /** Deletes the prompt and every version. @example await loam.prompts.delete(id); */
  async delete(id: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/prompts/${id}`, options);
  }

  /**
   * Lists prompts (latest versions); `tags` must all match.
   * @example for await (const p of loam.prompts.list({ tags: ['support'] })) console.log(p.name, p.version);
   */
  list(query: Omit<ListPromptsQuery, 'nextToken'> = {}): PagePromise<Prompt> {
    return tokenList<Prompt>(this.client, '/prompts', 'prompts', { ...query });
  }

  /**
   * The version history (newest first) and where each label points.
   * @example const { versions, labels } = await loam.prompts.versions(id); labels.production
   */
  versions(id: string, query: PromptVersionsQuery = {}, options?: Opts): APIPromise<PromptVersionList> {
    return this.client.request('GET', path`/prompts/${id}/versions`, { ...options, query: { ...query } });
  }

  /**
   * Points a label (`production`, `staging`, any name) at a version.
   * @example await loam.prompts.setLabel(id, 'production', 3);
   */
  async setLabel(id: string, label: string, version: number, options?: Opts): Promise<PromptLabel> {
    return (
      await this.client.request<{ label: PromptLabel }>('PUT', path`/prompts/${id}/labels/${label}`, { ...options, body: { version } })
    ).label;
  }

  /** Removes a label. @example await loam.prompts.deleteLabel(id, 'staging'); */
  async deleteLabel(id: string, label: string, options?: Opts): Promise<void> {
    await this.client.request('DELETE', path`/prompts/${id}/labels/${label}`, options);
  }

  /**
   * Fills the template's `{{placeholders}}` (never evaluates code).
   * @example const { text } = await loam.prompts.render(id, { variables: { text: 'Loam is…' } });
   */
  render(id: string, body: RenderPrompt = {}, options?: Opts): APIPromise<RenderedPrompt> {
    return this.client.request('POST', path`/prompts/${id}/render`, { ...options, body });
  }

  /**
   * Renders the prompt and runs it on its model. With `stream: true` it returns a {@link Stream}
   * of parts (`start`, `text-delta`…, `finish`), cancellable with `signal` or `stream.abort()`.
   * @example
   * const { text, usage } = await loam.prompts.generate(id, { variables: { text } });
   * for await (const part of loam.prompts.generate(id, { variables: { text }, stream: true })) {
   *   if (part.type === 'text-delta') process.stdout.write(part.delta);
   * }
   */
  generate(id: string, body: GeneratePrompt & { stream: true }, options?: Opts): Stream<GenerationStreamPart>;
  generate(id: string, body?: GeneratePrompt & { stream?: false }, options?: Opts): APIPromise<GenerationResult>;
  generate(id: string, body: GeneratePrompt = {}, options: Opts = {}): Stream<GenerationStreamPart> | Promise<GenerationResult> {
    const url = path`/prompts/${id}/generate`;
    if (!body.stream) return this.client.request('POST', url, { ...options, body });
    return new Stream<GenerationStreamPart>(
      (signal) => this.client.requestResponse('POST', url, { ...options, body, signal, headers: { accept: 'text/event-stream' } }),
      (event) => {
        const part = safeJSON(event.data) as GenerationStreamPart | undefined;
        if (!part) return undefined;
        if (part.type === 'error') throw APIError.from(502, part, new Headers());
        return part;
      },
      options.signal,
    );
  }
}
