import type { LoamModule, Platform } from '../../platform/module.js';
import type { AuditService } from '../audit/service.js';
import { LlmGateway } from './gateway.js';
import { llmMigrations } from './migrations.js';
import type { PiiScanner } from './privacy.js';
import { generateRoutes } from './routes/generate.js';
import { openAiRoutes } from './routes/openai.js';
import { LlmService } from './service.js';
import { LlmStore } from './store.js';

/** What the llm module offers: the provider layer (prompts use it) and the tenant-facing gateway. */
export interface Llm {
  llm: LlmService;
  gateway: LlmGateway;
}

/**
 * The LLM provider layer (OpenAI, Azure OpenAI, Ollama: routing, retries, breakers, fallback) and
 * the gateway on top of it: `/api/v1/llm/*` and the OpenAI-compatible `/v1/*`, privacy on the way
 * out through the privacy engine (looked up lazily: `privacy`), quotas and per-call accounting.
 */
export function createLlmModule(
  platform: Platform,
  deps: { privacy: () => PiiScanner | undefined; audit?: AuditService },
): LoamModule<Llm> {
  const llm = new LlmService(platform);
  const gateway = new LlmGateway(platform, llm, new LlmStore(platform.database.db), deps.privacy);
  // Each call's privacy decision (mode and counts, never values) goes to the audit log.
  deps.audit?.track('llm.call.completed', 'llm.settings.updated');
  const heartbeatMs = platform.config.llmHeartbeatMs;
  return {
    name: 'llm',
    service: { llm, gateway },
    migrations: [llmMigrations],
    async routes(app) {
      generateRoutes(app, gateway, { heartbeatMs });
      await openAiRoutes(app, gateway, { heartbeatMs, perMinute: platform.config.llmOpenAiRateLimit });
    },
    // Calls are recorded in batches: write the last ones before the database closes.
    stop: () => gateway.flush(),
  };
}
