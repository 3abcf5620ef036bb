import { readFileSync } from 'node:fs';

// Set by scripts/bundle.mjs, whose bundle no longer sits beside the package's package.json.
declare const __LOAM_SERVER_VERSION__: string | undefined;

/** The server's version, as its package.json states it (health answers, OpenAPI). */
export const VERSION: string =
  typeof __LOAM_SERVER_VERSION__ === 'string'
    ? __LOAM_SERVER_VERSION__
    : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
