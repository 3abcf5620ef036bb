/**
 * The gRPC/Connect definitions of the data vault's `llm_data_vault.v1.DatasetService` (generated
 * from proto/ by buf with protoc-gen-es; see docs/grpc.md), and gRPC's health and reflection
 * services that Loam serves beside it.
 */
export * from './gen/llm_data_vault/v1/dataset_service_pb.js';
export * as health from './gen/grpc/health/v1/health_pb.js';
export * as reflection from './gen/grpc/reflection/v1/reflection_pb.js';
export * as reflectionV1alpha from './gen/grpc/reflection/v1alpha/reflection_pb.js';
export * as rpc from './gen/google/rpc/error_details_pb.js';
