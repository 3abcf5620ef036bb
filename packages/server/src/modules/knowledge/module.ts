import type { LoamModule, Platform } from '../../platform/module.js';
import type { ContentService } from '../content/service.js';
import type { LlmGateway } from '../llm/gateway.js';
import type { StorageService } from '../storage/service.js';
import { Answerer } from './answer.js';
import { knowledgeMigrations } from './migrations.js';
import { Retrieval } from './retrieval.js';
import { knowledgeRoutes } from './routes.js';
import { type DocumentSourceRecorder, KnowledgeService } from './service.js';
import { KnowledgeWorkflow } from './workflow.js';

export interface KnowledgeModuleService {
  knowledge: KnowledgeService;
  retrieval: Retrieval;
  answerer: Answerer;
  workflow: KnowledgeWorkflow;
}

/** Knowledge bases: collections, documents and their workflow, hybrid retrieval, answers with citations. */
export function createKnowledgeModule(
  platform: Platform,
  deps: { storage: StorageService; content: ContentService; gateway: LlmGateway; recordSource?: DocumentSourceRecorder },
): LoamModule<KnowledgeModuleService> {
  const knowledge = new KnowledgeService(platform, deps.storage, deps.content, deps.recordSource);
  const retrieval = new Retrieval(platform, knowledge.store, knowledge, deps.gateway);
  const answerer = new Answerer(platform, knowledge.store, retrieval, deps.gateway);
  const workflow = new KnowledgeWorkflow(platform, knowledge.store, deps.content, deps.gateway.llm);
  return {
    name: 'knowledge',
    service: { knowledge, retrieval, answerer, workflow },
    migrations: [knowledgeMigrations],
    async routes(app) {
      await app.register(async (scope) =>
        knowledgeRoutes(scope as typeof app, {
          knowledge,
          retrieval,
          answerer,
          gateway: deps.gateway,
          maxFileBytes: platform.config.storageMaxFileBytes,
          heartbeatMs: platform.config.llmHeartbeatMs,
        }),
      );
    },
    start() {
      workflow.register();
    },
  };
}
