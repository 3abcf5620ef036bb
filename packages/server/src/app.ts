import swagger from '@fastify/swagger';
import type { Migrator } from 'kysely';
import type { Config } from './config.js';
import { createMigrator, migrateToLatest, type MigrationSet } from './platform/db/migrate.js';
import { type LoamApp, createHttpServer } from './platform/http/server.js';
import { type Platform, type PlatformOptions, createPlatform } from './platform/index.js';
import { platformMigrations } from './platform/migrations.js';
import { apiKeyMigrations } from './modules/apikeys/migrations.js';
import { apiKeyRoutes } from './modules/apikeys/routes.js';
import { ApiKeyService } from './modules/apikeys/service.js';
import { jobRoutes } from './modules/jobs/routes.js';
import { VERSION, atriumnHealthRoute, systemRoutes } from './modules/system/routes.js';
import { DEFAULT_TENANT, TenantService } from './modules/tenants/service.js';

/** The services of every module, built once and handed to the modules that need them. */
export interface Services {
  tenants: TenantService;
  apiKeys: ApiKeyService;
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
  const services: Services = { tenants, apiKeys };
  const modules: LoamModule[] = [
    {
      name: 'platform',
      migrations: platformMigrations,
      routes: (app) => jobRoutes(app, platform.jobs),
      atriumnRoutes: atriumnHealthRoute,
    },
    { name: 'apikeys', migrations: apiKeyMigrations, routes: (app) => apiKeyRoutes(app, apiKeys) },
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
      await server.register(swagger, {
        openapi: {
          openapi: '3.1.0',
          info: { title: 'Loam', version: VERSION, description: 'Self-hostable data platform for LLM applications' },
          components: {
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer' },
              apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
            },
          },
          security: [{ bearer: [] }, { apiKey: [] }],
        },
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
