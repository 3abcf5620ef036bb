import type { LoamModule, Platform } from '../../platform/module.js';
import { LlmService } from './service.js';

/** The LLM provider layer (OpenAI, Azure OpenAI, Ollama) every LLM feature calls. */
export function createLlmModule(platform: Platform): LoamModule<LlmService> {
  return { name: 'llm', service: new LlmService(platform) };
}
