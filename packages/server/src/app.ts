import type { Migrator } from 'kysely';
import type { Config } from './config.js';
import { createMigrator, migrateToLatest, type MigrationSet } from './platform/db/migrate.js';
import { type LoamApp, createHttpServer } from './platform/http/server.js';
import { idempotencyModule } from './platform/http/idempotency.js';
import { unwrapRequestEnvelope } from './platform/http/request-envelope.js';
import { addRouteHook } from './platform/http/route-hooks.js';
import { isApiV1 } from './platform/http/context.js';
import { type Platform, type PlatformOptions, createPlatform } from './platform/index.js';
import { platformMigrations } from './platform/migrations.js';
import { NatsEventPublisher } from './platform/events/nats.js';
import { apiKeyMigrations } from './modules/apikeys/migrations.js';
import { apiKeyRoutes } from './modules/apikeys/routes.js';
import { ApiKeyService } from './modules/apikeys/service.js';
import { jobRoutes } from './modules/jobs/routes.js';
import { atriumnHealthRoute, systemRoutes } from './modules/system/routes.js';
import { DEFAULT_TENANT, TenantService } from './modules/tenants/service.js';
import { IdentityService, identityModule } from './modules/identity/index.js';
import type { LlmService } from './modules/llm/service.js';
import { createPromptsModule } from './modules/prompts/module.js';
import type { PromptService } from './modules/prompts/service.js';
import { createPoliciesModule } from './modules/policies/module.js';
import type { PolicyService } from './modules/policies/service.js';
import { createAuditModule } from './modules/audit/module.js';
import type { AuditService } from './modules/audit/service.js';
import type { KeyRing } from './platform/crypto/envelope.js';
import { createPrivacyModule } from './modules/privacy/module.js';
import type { PrivacyService } from './modules/privacy/service.js';
import { storageModule } from './modules/storage/index.js';
import { StorageService } from './modules/storage/service.js';
import { contentModule } from './modules/content/index.js';
import { createDatasetsModule } from './modules/datasets/module.js';
import type { DatasetService } from './modules/datasets/services/datasets.js';
import { ContentService } from './modules/content/service.js';

/** The services of every module, built once and handed to the modules that need them. */
export interface Services {
  tenants: TenantService;
  apiKeys: ApiKeyService;
  identity: IdentityService;
  policies: PolicyService;
  audit: AuditService;
  llm: LlmService;
  prompts: PromptService;
  /** Envelope encryption (data keys per tenant scope, wrapped by the master key). */
  keys: KeyRing;
  privacy: PrivacyService;
  storage: StorageService;
  content: ContentService;
  datasets: DatasetService;
}

/**
 * A capability: its migrations, its routes, and what it does at start and stop.
 * `atriumnRoutes` are mounted at the root and again under LOAM_ATRIUMN_PREFIX.
 */
export interface LoamModule {
  name: string;
  migrations?: MigrationSet;
  routes?(app: LoamApp): void | Promise<void>;
  atriumnRoutes?(app: LoamApp): void | Promise<void>;
  /** Runs after migrations, before the server listens (bootstrap data, subscribers, job kinds). */
  start?(): void | Promise<void>;
  stop?(): void | Promise<void>;
}

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

export function createModules(platform: Platform): { services: Services; modules: LoamModule[] } {
  const tenants = new TenantService(platform);
  const apiKeys = new ApiKeyService(platform);
  platform.authenticators.push(apiKeys.authenticate);
  const identity = new IdentityService(platform, tenants);
  const { policies, module: policiesModule } = createPoliciesModule(platform);
  const { audit, module: auditModule } = createAuditModule(platform);
  const { llm, prompts, module: promptsModule } = createPromptsModule(platform);
  const { keys, privacy, protection, modules: privacyModules } = createPrivacyModule(platform, { datasets: () => datasets });
  const storage = new StorageService(platform);
  const content = new ContentService(platform, storage);
  const { datasets, modules: datasetModules } = createDatasetsModule(platform, { protection });
  const services: Services = { tenants, apiKeys, identity, policies, audit, llm, prompts, keys, privacy, storage, content, datasets };
  let nats: NatsEventPublisher | undefined;
  const modules: LoamModule[] = [
    {
      name: 'platform',
      migrations: platformMigrations,
      routes: (app) => jobRoutes(app, platform.jobs),
      atriumnRoutes: atriumnHealthRoute,
    },
    idempotencyModule(platform),
    { name: 'apikeys', migrations: apiKeyMigrations, routes: (app) => apiKeyRoutes(app, apiKeys) },
    identityModule(platform, identity),
    policiesModule,
    auditModule,
    promptsModule,
    ...privacyModules,
    storageModule(platform, storage),
    contentModule(platform, content),
    ...datasetModules,
    {
      // With LOAM_NATS_URL, every committed event is also published to NATS JetStream.
      name: 'nats',
      async start() {
        if (!platform.config.natsUrl) return;
        const publisher = await NatsEventPublisher.connect(platform.config.natsUrl);
        nats = publisher;
        platform.events.subscribe('nats-publisher', (event) => publisher.publish(event));
      },
      async stop() {
        await nats?.close();
      },
    },
  ];
  return { services, modules };
}

export async function createLoam(config: Config, opts: PlatformOptions = {}): Promise<Loam> {
  const platform = await createPlatform(config, opts);
  const { services, modules } = createModules(platform);
  const migrator = createMigrator(
    platform.database.db,
    platform.database.dialect,
    modules.flatMap((m) => (m.migrations ? [m.migrations] : [])),
  );
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
      await systemRoutes(server, platform, migrator);
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
      if (relay) platform.events.start();
      if (workers > 0) platform.jobs.start(workers);
    },
    async close(deadlineMs = config.shutdownTimeoutMs) {
      if (app) await app.close();
      await platform.jobs.stop(deadlineMs);
      await platform.events.stop();
      if (started) for (const m of [...modules].reverse()) await m.stop?.();
      await platform.close();
    },
  };
}
