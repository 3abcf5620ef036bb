import type { DescFile } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { fastifyConnectPlugin } from '@connectrpc/connect-fastify';
import {
  DatasetService as DatasetServiceDesc,
  file_llm_data_vault_v1_dataset_service,
  health,
  reflection,
  reflectionV1alpha,
} from '@loam/api/grpc';
import { sql } from 'kysely';
import type { LoamModule, Platform } from '../../platform/module.js';
import type { DatasetService } from '../datasets/services/datasets.js';
import type { PrivacyService } from '../privacy/service.js';
import { CallContexts, callValues } from './call-context.js';
import { registerDatasetService } from './dataset-service.js';
import { HealthService } from './health.js';
import { Reflection } from './reflection.js';
import { GrpcServer, routerOptions } from './server.js';

/** What the gRPC module offers: its listener, which `loam serve` starts (LOAM_GRPC_ENABLED). */
export interface Grpc {
  server: GrpcServer;
}

/**
 * The data vault's `llm_data_vault.v1.DatasetService` (proto/), served with ConnectRPC over gRPC,
 * gRPC-Web and Connect: on LOAM_GRPC_PORT (HTTP/2, its own listener) and on the main HTTP port
 * (gRPC-Web and Connect through Fastify). Beside it the standard health and reflection services.
 * The RPCs call the datasets and privacy services the REST routes call. See docs/grpc.md.
 */
export function createGrpcModule(
  platform: Platform,
  deps: { datasets: DatasetService; privacy: PrivacyService; tierOf: (tenantId: string) => Promise<string> },
): LoamModule<Grpc> {
  const served = [DatasetServiceDesc.typeName, health.Health.typeName];
  const healthService = new HealthService(served, () =>
    sql`select 1`.execute(platform.database.db).then(
      () => true,
      () => false,
    ),
  );
  const files: DescFile[] = [
    file_llm_data_vault_v1_dataset_service,
    health.file_grpc_health_v1_health,
    reflection.file_grpc_reflection_v1_reflection,
    reflectionV1alpha.file_grpc_reflection_v1alpha_reflection,
  ];
  const reflector = new Reflection(files, [...served, reflection.ServerReflection.typeName, reflectionV1alpha.ServerReflection.typeName]);
  const contexts = new CallContexts(platform, deps.tierOf);
  const routes = (router: ConnectRouter) => {
    registerDatasetService(router, {
      datasets: deps.datasets,
      privacy: deps.privacy,
      contexts,
      maxBulkRecords: platform.config.grpcMaxBulkRecords,
    });
    healthService.register(router);
    reflector.register(router);
  };
  const server = new GrpcServer(platform, routes, healthService);
  return {
    name: 'grpc',
    service: { server },
    async routes(app) {
      // gRPC-Web and Connect on the main port, in a scope of their own: the plugin's body parsers
      // stay inside it, and its routes stay out of the OpenAPI document (proto/ describes them).
      await app.register(async (scope) => {
        scope.addHook('onRoute', (route) => {
          route.schema = { ...route.schema, hide: true };
        });
        await scope.register(fastifyConnectPlugin, {
          ...routerOptions(platform),
          routes,
          contextValues: (req) => callValues(req.raw, req.ip),
        });
      });
    },
    stop: () => server.close(),
  };
}
