// The error type lives in platform/errors.ts (every layer may throw it); kept here for imports
// that predate the move.
export * from '../errors.js';
