export { createLoam, createModules, type Loam, type LoamModule, type Services } from './app.js';
export { loadConfig, redactConfig, unknownVariableWarnings, options as configOptions, ConfigError, type Config } from './config.js';
export { serve, worker, migrate } from './main.js';
export { AppError } from './platform/errors.js';
export type { Platform } from './platform/index.js';
export type { CloudEvent } from './platform/events/outbox.js';
