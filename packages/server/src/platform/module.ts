import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Access } from './access.js';
import type { Authorizer } from './authz.js';
import type { BlobStore } from './blob/index.js';
import type { Clock } from './time.js';
import type { Ids, Random, Signer } from './crypto/index.js';
import type { DatabaseHandle, Executor, Tx } from './db/index.js';
import type { MigrationSet } from './db/migrate.js';
import type { EventOutbox } from './events/outbox.js';
import type { LoamApp } from './http/app.js';
import type { JobQueue } from './jobs/queue.js';
import type { Liveness } from './liveness.js';
import type { BearerAuthenticator } from './principal.js';
import type { RateLimiter } from './ratelimit/index.js';
import type { Tracing } from './tracing.js';

/**
 * The module contract. A capability is a folder under `modules/` with exactly one `module.ts`
 * exporting a factory of this shape; `app.ts` calls the factories in dependency order and
 * composes the results. Nothing else of a module is imported from outside it, except the types
 * of its service.
 *
 * ```ts
 * export function createWidgetsModule(platform: Platform, deps: { datasets: DatasetService }): LoamModule<WidgetService> {
 *   const service = new WidgetService(platform, new WidgetStore(platform.database), deps.datasets);
 *   return { name: 'widgets', service, migrations: [widgetMigrations], routes: (app) => widgetRoutes(app, service) };
 * }
 * ```
 */
export interface LoamModule<TService = unknown> {
  /** Unique, lower-case; names the module in logs. */
  readonly name: string;
  /** What other modules may use (app.ts passes it to the factories that declare it as a dependency). */
  readonly service: TService;
  /**
   * Its schema changes, applied in this order after those of the modules listed before it.
   * A set's `module` names its migrations in `loam_migrations` and never changes.
   */
  readonly migrations?: readonly MigrationSet[];
  /** Registers its `/api/v1` (and other root) routes. */
  routes?(app: LoamApp): void | Promise<void>;
  /** Registers its Atriumn-compatible routes, mounted at the root and again under LOAM_ATRIUMN_PREFIX. */
  atriumnRoutes?(app: LoamApp): void | Promise<void>;
  /** Runs after migrations, before the server listens (bootstrap data, subscribers, job kinds). */
  start?(): void | Promise<void>;
  /** Runs at shutdown, in reverse module order. */
  stop?(): void | Promise<void>;
}

/** The one factory shape of every `module.ts`. */
export type ModuleFactory<TDeps, TService> = (platform: Platform, deps: TDeps) => LoamModule<TService>;

/** A dependency `/readyz` checks. */
export interface DependencyCheck {
  name: string;
  /** Without it the instance cannot serve (`/readyz` 503); otherwise it serves degraded (200). */
  required: boolean;
  /** What still works while it is down (reported in `/readyz`). */
  whileDown?: string;
  /** Resolves when the dependency answers; rejects with the reason otherwise. */
  check(): Promise<unknown>;
}

/** What tenant quotas limit (the tenants module counts them). */
export type QuotaResource = 'storage_bytes' | 'content_items' | 'prompts' | 'datasets' | 'records';

/** A tenant's quota of one resource and what it holds of it (when a quota check passed). */
export interface QuotaUse {
  limit: number;
  current: number;
}

/** The infrastructure every module receives. Nothing else is global. */
export interface Platform {
  config: Config;
  log: Logger;
  clock: Clock;
  random: Random;
  ids: Ids;
  database: DatabaseHandle;
  /** Runs `fn` in a transaction; after commit, wakes the loops it wrote work for (`wakeOnCommit`: the relay, the job workers, the webhook dispatcher). */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  events: EventOutbox;
  jobs: JobQueue;
  /** Which processes are alive: the leases of a killed one are taken over at once. */
  liveness: Liveness;
  rateLimiter: RateLimiter;
  redis: Redis | undefined;
  metrics: Registry;
  /** Loam's own OpenTelemetry tracing; undefined (off, nothing loaded) unless an OTLP endpoint is configured. */
  tracing: Tracing | undefined;
  signer: Signer;
  /** Object storage for uploaded files (LOAM_BLOB_STORE: local or s3). */
  blob: BlobStore;
  /** Bearer-token resolvers; API keys register first, the identity module adds JWTs. */
  authenticators: BearerAuthenticator[];
  /** Access decisions for resources; the policies module replaces the built-in scope check with Cedar. */
  authorizer: Authorizer;
  /** Whether a tenant exists: requests naming another tenant are checked against it (the tenants module answers). */
  tenantExists: (tenantId: string) => Promise<boolean>;
  /**
   * Why a tenant's requests are refused, from memory (no query per request): `suspended` (also
   * while it is being erased) or `gone` (erased); undefined when it may act. The tenants module answers.
   */
  tenantBlocked: (tenantId: string) => 'suspended' | 'gone' | undefined;
  /**
   * Throws 403 `quota_exceeded` when adding `amount` of `resource` would pass the tenant's quota;
   * returns the quota and what the tenant holds (undefined: no quota set, nothing counted).
   */
  checkQuota: (tenantId: string, resource: QuotaResource, amount: number, db?: Executor) => Promise<QuotaUse | undefined>;
  /** The one object-level access check every service calls (asks `authorizer`, records denials). */
  access: Access;
  /** Dependencies beyond the database that `/readyz` checks; modules add theirs (NATS). */
  dependencies: DependencyCheck[];
  close(): Promise<void>;
}
