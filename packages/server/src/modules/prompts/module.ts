import type { LoamModule } from '../../app.js';
import type { Platform } from '../../platform/index.js';
import { LlmService } from '../llm/service.js';
import { promptMigrations } from './migrations.js';
import { promptRoutes } from './routes.js';
import { PromptService } from './service.js';

/** The LLM provider layer (used by every LLM feature) and the Atriumn prompts service on top of it. */
export function createPromptsModule(platform: Platform): { llm: LlmService; prompts: PromptService; module: LoamModule } {
  const llm = new LlmService(platform);
  const prompts = new PromptService(platform, llm);
  return {
    llm,
    prompts,
    module: {
      name: 'prompts',
      migrations: promptMigrations,
      atriumnRoutes: (app) => promptRoutes(app, prompts, { heartbeatMs: platform.config.llmHeartbeatMs }),
    },
  };
}
