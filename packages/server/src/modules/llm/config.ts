import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Config, ConfigError } from '../../config.js';
import type { ProviderConfig } from './types.js';

const NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';

export const ProviderConfigSchema = Type.Object(
  {
    name: Type.String({ pattern: NAME }),
    kind: Type.Union([Type.Literal('openai'), Type.Literal('azure'), Type.Literal('ollama')]),
    baseUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    apiKey: Type.Optional(Type.String()),
    models: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    deployment: Type.Optional(Type.String({ minLength: 1 })),
    apiVersion: Type.Optional(Type.String({ minLength: 1 })),
    entraToken: Type.Optional(Type.String({ minLength: 1 })),
    entraTenantId: Type.Optional(Type.String({ minLength: 1 })),
    entraClientId: Type.Optional(Type.String({ minLength: 1 })),
    entraClientSecret: Type.Optional(Type.String({ minLength: 1 })),
    entraAuthorityHost: Type.Optional(Type.String({ pattern: '^https?://' })),
    maxTokensField: Type.Optional(Type.Union([Type.Literal('max_tokens'), Type.Literal('max_completion_tokens')])),
  },
  { additionalProperties: false },
);

const list = (csv: string) =>
  csv
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * The named providers: `llmProviders` (a JSON array, from LOAM_LLM_PROVIDERS or the config file)
 * plus the shortcuts LOAM_OPENAI_* and LOAM_OLLAMA_*. Fails fast with a ConfigError.
 */
export function providerConfigsOf(config: Config): ProviderConfig[] {
  let raw: unknown = config.llmProviders;
  if (typeof raw === 'string') {
    if (raw.trim() === '') raw = [];
    else {
      try {
        raw = JSON.parse(raw);
      } catch (err) {
        throw new ConfigError(`invalid configuration: llmProviders (LOAM_LLM_PROVIDERS): not JSON: ${(err as Error).message}`);
      }
    }
  }
  if (!Array.isArray(raw)) throw new ConfigError('invalid configuration: llmProviders (LOAM_LLM_PROVIDERS): must be a JSON array');
  const providers: ProviderConfig[] = raw.map((entry, i) => {
    const first = Value.Errors(ProviderConfigSchema, entry).First();
    if (first)
      throw new ConfigError(
        `invalid configuration: llmProviders[${i}]${first.path.replaceAll('/', '.')} (LOAM_LLM_PROVIDERS): ${first.message}`,
      );
    const p = entry as Static<typeof ProviderConfigSchema>;
    return { ...p, models: p.models ?? [] };
  });
  if (config.openaiApiKey || config.openaiBaseUrl)
    providers.push({
      name: 'openai',
      kind: 'openai',
      apiKey: config.openaiApiKey || undefined,
      baseUrl: config.openaiBaseUrl || undefined,
      models: list(config.openaiModels),
    });
  if (config.ollamaUrl) providers.push({ name: 'ollama', kind: 'ollama', baseUrl: config.ollamaUrl, models: list(config.ollamaModels) });

  const seen = new Set<string>();
  for (const p of providers) {
    if (seen.has(p.name)) throw new ConfigError(`invalid configuration: llmProviders: two providers are named '${p.name}'`);
    seen.add(p.name);
    if (p.kind === 'azure') {
      if (!p.baseUrl)
        throw new ConfigError(`invalid configuration: llmProviders: azure provider '${p.name}' needs baseUrl (the resource endpoint)`);
      const entra = p.entraToken || (p.entraTenantId && p.entraClientId && p.entraClientSecret);
      if (!p.apiKey && !entra)
        throw new ConfigError(
          `invalid configuration: llmProviders: azure provider '${p.name}' needs apiKey, entraToken, or entraTenantId + entraClientId + entraClientSecret`,
        );
    }
  }
  return providers;
}
