import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/**
 * The `eval` source of a worker thread that imports the module at `workerUrl` and calls its
 * `serve()`. In the bundle the module is a chunk of its own; from TypeScript sources (tests,
 * `npm run dev`) the worker loads it through tsx, as the main thread does.
 */
export function workerSource(workerUrl: string): string {
  const source = `import(${JSON.stringify(workerUrl)}).then((m) => m.serve())`;
  if (!workerUrl.endsWith('.ts')) return source;
  const tsx = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  return `import(${JSON.stringify(tsx)}).then((t) => { t.register(); return ${source}; })`;
}
