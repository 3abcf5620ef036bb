import type { LoamModule, Platform } from '../../platform/module.js';
import { apiKeyMigrations } from './migrations.js';
import { apiKeyRoutes } from './routes.js';
import { ApiKeyService } from './service.js';

/** API keys: the first bearer authenticator, and `/api/v1/api-keys`. */
export function createApiKeysModule(platform: Platform): LoamModule<ApiKeyService> {
  const apiKeys = new ApiKeyService(platform);
  platform.authenticators.push(apiKeys.authenticate);
  return { name: 'apikeys', service: apiKeys, migrations: [apiKeyMigrations], routes: (app) => apiKeyRoutes(app, apiKeys) };
}
