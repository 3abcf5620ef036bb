import { type Static, Type } from '@sinclair/typebox';

/**
 * Atriumn AI service: prompt templates (contracts/atriumn.md §4), camelCase JSON, single prompts
 * wrapped as `{prompt}`, lists as `{prompts, nextToken}`. Plus Loam's versions, labels,
 * rendering and generation.
 */

export const VARIABLE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const LABEL_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

export const PromptVariable = Type.Object({
  name: Type.String({ pattern: VARIABLE_NAME_PATTERN, maxLength: 128 }),
  description: Type.Optional(Type.String({ maxLength: 4096 })),
  defaultValue: Type.Optional(Type.String({ maxLength: 102_400 })),
  required: Type.Optional(Type.Boolean()),
});
export type PromptVariable = Static<typeof PromptVariable>;

const Parameters = Type.Object(
  {},
  { additionalProperties: true, description: 'Free-form model parameters (temperature, maxTokens, stop, …)' },
);

export const Prompt = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  template: Type.String(),
  modelId: Type.String(),
  parameters: Parameters,
  variables: Type.Array(PromptVariable),
  tags: Type.Array(Type.String()),
  version: Type.Integer(),
  createdAt: Type.String({ description: 'When the prompt was created (RFC 3339 UTC)' }),
  updatedAt: Type.String({ description: 'When this version was written (RFC 3339 UTC)' }),
  createdBy: Type.Optional(Type.String({ description: 'Loam extra: who wrote this version' })),
});
export type Prompt = Static<typeof Prompt>;

export const PromptEnvelope = Type.Object({ prompt: Prompt });
export type PromptEnvelope = Static<typeof PromptEnvelope>;

/** The template is not length-limited here: the size quota answers 413, not a validation error. */
const promptFields = {
  name: Type.String({ minLength: 1, maxLength: 256 }),
  template: Type.String({ minLength: 1 }),
  description: Type.String({ maxLength: 4096 }),
  modelId: Type.String({ maxLength: 256 }),
  parameters: Parameters,
  variables: Type.Array(PromptVariable, { maxItems: 200 }),
  tags: Type.Array(Type.String({ minLength: 1, maxLength: 128 }), { maxItems: 50 }),
};

export const CreatePrompt = Type.Object({
  name: promptFields.name,
  template: promptFields.template,
  description: Type.Optional(promptFields.description),
  modelId: Type.Optional(promptFields.modelId),
  parameters: Type.Optional(promptFields.parameters),
  variables: Type.Optional(promptFields.variables),
  tags: Type.Optional(promptFields.tags),
  tenantId: Type.Optional(Type.String({ maxLength: 128 })),
});
export type CreatePrompt = Static<typeof CreatePrompt>;

/** Partial update: only the keys present change; every update writes a new version. */
export const UpdatePrompt = Type.Partial(Type.Object(promptFields));
export type UpdatePrompt = Static<typeof UpdatePrompt>;

export const ListPromptsQuery = Type.Object({
  modelId: Type.Optional(Type.String({ maxLength: 256 })),
  tags: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 50, description: 'Repeated; a prompt must carry all' })),
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  nextToken: Type.Optional(Type.String({ maxLength: 1024 })),
  tenantId: Type.Optional(Type.String({ maxLength: 128 })),
});
export type ListPromptsQuery = Static<typeof ListPromptsQuery>;

export const PromptList = Type.Object({
  prompts: Type.Array(Prompt),
  nextToken: Type.Optional(Type.String({ description: 'Absent on the last page' })),
});
export type PromptList = Static<typeof PromptList>;

export const GetPromptQuery = Type.Object({
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  label: Type.Optional(Type.String({ pattern: LABEL_PATTERN })),
});
export type GetPromptQuery = Static<typeof GetPromptQuery>;

export const PromptVersionSummary = Type.Object({
  version: Type.Integer(),
  createdAt: Type.String(),
  createdBy: Type.String(),
  labels: Type.Array(Type.String(), { description: 'Labels pointing at this version (`latest` included)' }),
});
export type PromptVersionSummary = Static<typeof PromptVersionSummary>;

export const PromptVersionsQuery = Type.Object({
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  nextToken: Type.Optional(Type.String({ maxLength: 1024 })),
});
export type PromptVersionsQuery = Static<typeof PromptVersionsQuery>;

export const PromptVersionList = Type.Object({
  versions: Type.Array(PromptVersionSummary, { description: 'Newest first' }),
  labels: Type.Record(Type.String(), Type.Integer(), { description: 'Every label of the prompt and the version it points at' }),
  nextToken: Type.Optional(Type.String()),
});
export type PromptVersionList = Static<typeof PromptVersionList>;

export const PromptLabelParams = Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,128}$' }),
  label: Type.String({ pattern: LABEL_PATTERN }),
});
export type PromptLabelParams = Static<typeof PromptLabelParams>;

export const SetPromptLabel = Type.Object({ version: Type.Integer({ minimum: 1 }) });
export type SetPromptLabel = Static<typeof SetPromptLabel>;

export const PromptLabel = Type.Object({
  name: Type.String(),
  version: Type.Integer(),
  updatedAt: Type.String(),
  updatedBy: Type.String(),
});
export type PromptLabel = Static<typeof PromptLabel>;
export const PromptLabelEnvelope = Type.Object({ label: PromptLabel });

export const VariableValues = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]), {
  description: 'Values for the declared variables; numbers and booleans are written as text',
});
export type VariableValues = Static<typeof VariableValues>;

export const RenderPrompt = Type.Object({
  variables: Type.Optional(VariableValues),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  label: Type.Optional(Type.String({ pattern: LABEL_PATTERN })),
});
export type RenderPrompt = Static<typeof RenderPrompt>;

export const RenderedPrompt = Type.Object({ text: Type.String(), version: Type.Integer() });
export type RenderedPrompt = Static<typeof RenderedPrompt>;

export const GeneratePrompt = Type.Object({
  variables: Type.Optional(VariableValues),
  version: Type.Optional(Type.Integer({ minimum: 1 })),
  label: Type.Optional(Type.String({ pattern: LABEL_PATTERN })),
  stream: Type.Optional(Type.Boolean({ description: 'Answer as Server-Sent Events (also chosen by Accept: text/event-stream)' })),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
  maxTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  stop: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { maxItems: 4 })])),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000 })),
});
export type GeneratePrompt = Static<typeof GeneratePrompt>;

export const LlmTokenUsage = Type.Object({
  inputTokens: Type.Integer(),
  outputTokens: Type.Integer(),
  totalTokens: Type.Integer(),
});
export type LlmTokenUsage = Static<typeof LlmTokenUsage>;

export const GenerationResult = Type.Object({
  text: Type.String(),
  promptId: Type.String(),
  version: Type.Integer(),
  provider: Type.String(),
  model: Type.String(),
  finishReason: Type.String(),
  usage: LlmTokenUsage,
  latencyMs: Type.Integer(),
});
export type GenerationResult = Static<typeof GenerationResult>;

/** The Server-Sent Events of a streamed generation, one JSON object per `data:` line. */
export type GenerationStreamPart =
  | { type: 'start'; promptId: string; version: number; provider: string; model: string }
  | { type: 'text-delta'; delta: string }
  | {
      type: 'finish';
      finishReason: string;
      usage: LlmTokenUsage;
      provider: string;
      model: string;
      latencyMs: number;
    }
  | { type: 'error'; error: string; error_description: string };
