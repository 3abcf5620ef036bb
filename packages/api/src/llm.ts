import { type Static, Type } from '@sinclair/typebox';
import { Envelope } from './common.js';

/**
 * The LLM gateway: the unified generate API (`/api/v1/llm/*`) and the OpenAI-compatible routes
 * (`/v1/*`, whose bodies are OpenAI's own; only the request fields Loam reads are described).
 */

export const LlmPrivacyMode = Type.Union(
  [Type.Literal('off'), Type.Literal('detect'), Type.Literal('redact'), Type.Literal('pseudonymize')],
  {
    description:
      'off: nothing is scanned; detect: PII is counted; redact: replaced by <TYPE> before the provider sees it; pseudonymize: replaced by reversible tokens, restored in the answer',
  },
);
export type LlmPrivacyMode = Static<typeof LlmPrivacyMode>;

export const LlmMessage = Type.Object(
  {
    role: Type.Union([Type.Literal('system'), Type.Literal('user'), Type.Literal('assistant')]),
    content: Type.String({ maxLength: 1_000_000 }),
  },
  { additionalProperties: false },
);
export type LlmMessage = Static<typeof LlmMessage>;

const Stop = Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { maxItems: 4 })]);

export const GenerateRequest = Type.Object(
  {
    model: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'A model id, or `provider/model`; default LOAM_LLM_DEFAULT_MODEL' }),
    ),
    provider: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Asks this provider for `model` (no fallback)' })),
    prompt: Type.Optional(Type.String({ maxLength: 1_000_000, description: 'A single user message (or give `messages`)' })),
    messages: Type.Optional(Type.Array(LlmMessage, { minItems: 1, maxItems: 1000 })),
    system: Type.Optional(Type.String({ maxLength: 1_000_000 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    top_p: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    stop: Type.Optional(Stop),
    stream: Type.Optional(Type.Boolean({ description: 'Answer as Server-Sent Events' })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 100, maximum: 600_000, description: 'Deadline of this call, retries included' })),
    privacy: Type.Optional(Type.Object({ mode: LlmPrivacyMode }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type GenerateRequest = Static<typeof GenerateRequest>;

export const LlmUsage = Type.Object({
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
});
export type LlmUsage = Static<typeof LlmUsage>;

export const LlmPrivacyReport = Type.Object({
  mode: LlmPrivacyMode,
  entities: Type.Record(Type.String(), Type.Integer(), { description: 'Entities found in the prompt, per type (never the values)' }),
});
export type LlmPrivacyReport = Static<typeof LlmPrivacyReport>;

export const GenerateResult = Type.Object({
  text: Type.String(),
  finish_reason: Type.String(),
  usage: LlmUsage,
  provider: Type.String(),
  model: Type.String(),
  latency_ms: Type.Integer(),
  attempts: Type.Integer({ description: 'Upstream requests made, retries and fallbacks included' }),
  privacy: LlmPrivacyReport,
});
export type GenerateResult = Static<typeof GenerateResult>;
export const GenerateEnvelope = Envelope(GenerateResult);

/** The parts of a streamed generation, one per SSE `data:` line. */
export type GenerateStreamPart =
  | { type: 'start'; provider: string; model: string }
  | { type: 'delta'; text: string }
  | ({ type: 'finish' } & Omit<GenerateResult, 'text'>)
  | { type: 'error'; code: string; detail: string; status: number };

export const LlmUsageQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date', description: 'First UTC day (default: 30 days ago)' })),
    to: Type.Optional(Type.String({ format: 'date', description: 'Last UTC day (default: today)' })),
  },
  { additionalProperties: false },
);
export type LlmUsageQuery = Static<typeof LlmUsageQuery>;

export const LlmUsageDay = Type.Object({
  day: Type.String({ format: 'date' }),
  model: Type.String(),
  calls: Type.Integer(),
  prompt_tokens: Type.Integer(),
  completion_tokens: Type.Integer(),
  total_tokens: Type.Integer(),
});
export type LlmUsageDay = Static<typeof LlmUsageDay>;

export const LlmUsageReport = Type.Object({
  from: Type.String({ format: 'date' }),
  to: Type.String({ format: 'date' }),
  days: Type.Array(LlmUsageDay),
  totals: Type.Object({
    calls: Type.Integer(),
    prompt_tokens: Type.Integer(),
    completion_tokens: Type.Integer(),
    total_tokens: Type.Integer(),
  }),
});
export type LlmUsageReport = Static<typeof LlmUsageReport>;
export const LlmUsageEnvelope = Envelope(LlmUsageReport);

export const LlmSettingsUpdate = Type.Object(
  {
    privacy_mode: Type.Optional(Type.Union([Type.Null(), LlmPrivacyMode], { description: 'null: the server default' })),
    daily_token_quota: Type.Optional(
      Type.Union([Type.Null(), Type.Integer({ minimum: 0 })], {
        description: 'Tokens per UTC day; 0 = unlimited; null: the server default',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LlmSettingsUpdate = Static<typeof LlmSettingsUpdate>;

export const LlmSettings = Type.Object({
  privacy_mode: Type.Union([Type.Null(), LlmPrivacyMode]),
  daily_token_quota: Type.Union([Type.Null(), Type.Integer()]),
  effective: Type.Object({ privacy_mode: LlmPrivacyMode, daily_token_quota: Type.Integer({ description: '0 = unlimited' }) }),
  tokens_today: Type.Integer(),
});
export type LlmSettings = Static<typeof LlmSettings>;
export const LlmSettingsEnvelope = Envelope(LlmSettings);

/** A model clients may name, with the provider tried first. */
export const LlmModel = Type.Object({ id: Type.String(), provider: Type.String() });
export type LlmModel = Static<typeof LlmModel>;
export const LlmModelsEnvelope = Envelope(Type.Array(LlmModel));

// ---- OpenAI-compatible (/v1): OpenAI's request bodies; unknown fields are accepted and ignored.

const OpenAiContentPart = Type.Object({ type: Type.String(), text: Type.Optional(Type.String()) });

export const ChatCompletionRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 200 }),
    messages: Type.Array(
      Type.Object({
        role: Type.String(),
        content: Type.Union([Type.Null(), Type.String(), Type.Array(OpenAiContentPart)]),
      }),
      { minItems: 1 },
    ),
    temperature: Type.Optional(Type.Union([Type.Null(), Type.Number({ minimum: 0, maximum: 2 })])),
    top_p: Type.Optional(Type.Union([Type.Null(), Type.Number({ minimum: 0, maximum: 1 })])),
    max_tokens: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 1 })])),
    max_completion_tokens: Type.Optional(Type.Union([Type.Null(), Type.Integer({ minimum: 1 })])),
    stop: Type.Optional(Type.Union([Type.Null(), Stop])),
    stream: Type.Optional(Type.Union([Type.Null(), Type.Boolean()])),
    stream_options: Type.Optional(Type.Union([Type.Null(), Type.Object({ include_usage: Type.Optional(Type.Boolean()) })])),
  },
  { additionalProperties: true },
);
export type ChatCompletionRequest = Static<typeof ChatCompletionRequest>;

export const EmbeddingsRequest = Type.Object(
  {
    model: Type.String({ minLength: 1, maxLength: 200 }),
    input: Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1, maxItems: 2048 })]),
    encoding_format: Type.Optional(Type.Union([Type.Literal('float'), Type.Literal('base64')])),
  },
  { additionalProperties: true },
);
export type EmbeddingsRequest = Static<typeof EmbeddingsRequest>;
