import type { LoamModule, Platform } from '../../platform/module.js';
import type { LlmService } from '../llm/service.js';
import { promptMigrations } from './migrations.js';
import { promptRoutes } from './routes.js';
import { PromptService } from './service.js';

/** The Atriumn prompts service: versioned templates, rendering and generation through the LLM layer. */
export function createPromptsModule(platform: Platform, deps: { llm: LlmService }): LoamModule<PromptService> {
  const prompts = new PromptService(platform, deps.llm);
  return {
    name: 'prompts',
    service: prompts,
    migrations: [promptMigrations],
    atriumnRoutes: (app) => promptRoutes(app, prompts, { heartbeatMs: platform.config.llmHeartbeatMs }),
  };
}
