import type { Migrator } from 'kysely';
import type { Config } from './config.js';
import { createMigrator, migrateToLatest } from './platform/db/migrate.js';
import { createNatsPublishingModule } from './platform/events/nats.js';
import { type LoamApp, createHttpServer } from './platform/http/server.js';
import { createIdempotencyModule } from './platform/http/idempotency.js';
import { unwrapRequestEnvelope } from './platform/http/request-envelope.js';
import { deprecationHeaders } from './platform/http/deprecations.js';
import { addRouteHook } from './platform/http/route-hooks.js';
import { isApiV1 } from './platform/http/context.js';
import { type PlatformOptions, createPlatform } from './platform/index.js';
import type { LoamModule, Platform } from './platform/module.js';
import { platformMigrations } from './platform/migrations.js';
import { createApiKeysModule } from './modules/apikeys/module.js';
import { createAuditModule } from './modules/audit/module.js';
import { createBusModule } from './modules/bus/module.js';
import { createContentModule } from './modules/content/module.js';
import { createEventsModule } from './modules/events/module.js';
import { createAnalyticsModule } from './modules/analytics/module.js';
import { createDatasetsModule } from './modules/datasets/module.js';
import { createGrpcModule } from './modules/grpc/module.js';
import { createGovernanceModule } from './modules/governance/module.js';
import { createIdentityModule } from './modules/identity/module.js';
import { createKnowledgeModule } from './modules/knowledge/module.js';
import { createJobsModule } from './modules/jobs/module.js';
import { createObservatoryModule } from './modules/observatory/module.js';
import { createLlmModule } from './modules/llm/module.js';
import { createPoliciesModule } from './modules/policies/module.js';
import { createPrivacyModule } from './modules/privacy/module.js';
import { createPromptsModule } from './modules/prompts/module.js';
import { createStorageModule } from './modules/storage/module.js';
import { createSystemModule } from './modules/system/module.js';
import { createTenantsModule } from './modules/tenants/module.js';
import { DEFAULT_TENANT } from './modules/tenants/service.js';

export type { LoamModule, Platform } from './platform/module.js';

/**
 * Every module, in dependency and migration order: a module's tables may reference those of
 * the modules before it, and a module's factory receives the services of those it names.
 */
export function createModules(platform: Platform) {
  const core: LoamModule<undefined> = { name: 'platform', service: undefined, migrations: [platformMigrations] };
  const idempotency = createIdempotencyModule(platform);
  const tenants = createTenantsModule(platform, { keys: () => privacy.service.keys });
  const apiKeys = createApiKeysModule(platform);
  const identity = createIdentityModule(platform, { tenants: tenants.service });
  const policies = createPoliciesModule(platform);
  const audit = createAuditModule(platform);
  const privacy = createPrivacyModule(platform, { datasets: () => datasets.service });
  const llm = createLlmModule(platform, { privacy: () => privacy.service.privacy, audit: audit.service });
  const prompts = createPromptsModule(platform, { llm: llm.service.llm });
  const storage = createStorageModule(platform);
  const content = createContentModule(platform, { storage: storage.service });
  const datasets = createDatasetsModule(platform, { protection: privacy.service.protection });
  const grpc = createGrpcModule(platform, {
    datasets: datasets.service,
    privacy: privacy.service.privacy,
    tierOf: (t) => tenants.service.tierOf(t),
  });
  const knowledge = createKnowledgeModule(platform, {
    storage: storage.service,
    content: content.service,
    gateway: llm.service.gateway,
    // A document indexed from a dataset (metadata.source_dataset_id) joins that dataset's lineage.
    recordSource: (tx, tenantId, datasetId, { from, document }) =>
      datasets.service.lineage.recordLineage(
        {
          tenantId,
          datasetId,
          nodes: [{ id: document.id, type: 'document', label: document.label, attributes: { collection_id: document.collection_id } }],
          edges: [{ from, to: document.id, relation: 'indexed_into' }],
        },
        tx,
      ),
  });
  const jobs = createJobsModule(platform);
  const bus = createBusModule(platform);
  const observatory = createObservatoryModule(platform);
  const events = createEventsModule(platform);
  const analytics = createAnalyticsModule(platform);
  const governance = createGovernanceModule(platform, {
    detect: async (tenantId, text) => (await privacy.service.privacy.analyze(tenantId, { text })).entities,
    verifyAudit: (tenantId) => audit.service.verifyChain(tenantId),
    policyTexts: (tenantId) => policies.service.policyTexts(tenantId),
  });
  const nats = createNatsPublishingModule(platform);
  const system = createSystemModule(platform, { migrator: () => migrator });
  const modules: LoamModule[] = [
    core,
    // First: its OpenAPI generator collects the routes every later module declares.
    system,
    idempotency,
    tenants,
    apiKeys,
    identity,
    policies,
    audit,
    llm,
    prompts,
    privacy,
    storage,
    content,
    datasets,
    grpc,
    knowledge,
    jobs,
    bus,
    observatory,
    events,
    governance,
    analytics,
    nats,
  ];
  const services = {
    tenants: tenants.service,
    apiKeys: apiKeys.service,
    identity: identity.service,
    policies: policies.service,
    audit: audit.service,
    llm: llm.service.llm,
    llmGateway: llm.service.gateway,
    prompts: prompts.service,
    keys: privacy.service.keys,
    privacy: privacy.service.privacy,
    storage: storage.service,
    content: content.service,
    datasets: datasets.service,
    grpc: grpc.service,
    knowledge: knowledge.service,
    bus: bus.service,
    observatory: observatory.service,
    events: events.service.events,
    webhooks: events.service.webhooks,
  };
  const migrator = createMigrator(
    platform.database.db,
    platform.database.dialect,
    modules.flatMap((m) => m.migrations ?? []),
  );
  return { services, modules, migrator };
}

/** The services of every module, built once and handed to the modules that need them. */
export type Services = ReturnType<typeof createModules>['services'];

export interface Loam {
  platform: Platform;
  services: Services;
  modules: LoamModule[];
  migrator: Migrator;
  /** Applies pending migrations of every module. */
  migrate(): Promise<string[]>;
  /** Creates the default tenant and, on first start, the admin API key (returned to print once). */
  bootstrap(): Promise<{ adminKey?: string }>;
  /** Builds the HTTP app (routes of every module); call once. */
  http(): Promise<LoamApp>;
  /** Starts the event relay and `concurrency` job workers. */
  startBackground(opts: { workers: number; relay: boolean }): void;
  /** Stops background work (waiting for running jobs up to the deadline) and closes pools. */
  close(deadlineMs?: number): Promise<void>;
}

export async function createLoam(config: Config, opts: PlatformOptions = {}): Promise<Loam> {
  const platform = await createPlatform(config, opts);
  const { services, modules, migrator } = createModules(platform);
  let app: LoamApp | undefined;
  let started = false;

  return {
    platform,
    services,
    modules,
    migrator,
    migrate: () => migrateToLatest(migrator),
    async bootstrap() {
      const result = await platform.transaction(async (tx) => {
        await services.tenants.ensure(tx, DEFAULT_TENANT, 'Default tenant');
        return services.apiKeys.bootstrapAdmin(tx, DEFAULT_TENANT);
      });
      for (const m of modules) await m.start?.();
      started = true;
      return { adminKey: result.key };
    },
    async http() {
      if (app) return app;
      const server = await createHttpServer({ platform, tierOf: (t) => services.tenants.tierOf(t) });
      // Request envelopes exist only on /api/v1 requests with a body.
      server.addHook('onRoute', (route) => {
        const methods = Array.isArray(route.method) ? route.method : [route.method];
        if (isApiV1(route.url) && methods.some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH'))
          addRouteHook(route, 'preValidation', unwrapRequestEnvelope);
      });
      // Deprecation / Sunset headers of the routes platform/http/deprecations.ts lists.
      server.addHook('onRoute', deprecationHeaders());
      for (const m of modules) {
        if (m.routes) await m.routes(server);
        if (m.atriumnRoutes) {
          const mount = m.atriumnRoutes.bind(m);
          await server.register(async (scope) => mount(scope as LoamApp));
          if (config.atriumnPrefix) await server.register(async (scope) => mount(scope as LoamApp), { prefix: config.atriumnPrefix });
        }
      }
      app = server;
      return server;
    },
    startBackground({ workers, relay }) {
      void platform.liveness.start();
      if (relay) platform.events.start();
      if (workers > 0) platform.jobs.start(workers);
    },
    async close(deadlineMs = config.shutdownTimeoutMs) {
      if (app) await app.close();
      await platform.jobs.stop(deadlineMs);
      await platform.events.stop();
      await platform.liveness.stop();
      if (started) for (const m of [...modules].reverse()) await m.stop?.();
      await platform.close();
    },
  };
}
