export * from './common.js';
export * from './health.js';
export * from './jobs.js';
export * from './apikeys.js';
