import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@loam/api/grpc': fileURLToPath(new URL('./packages/api/src/grpc/index.ts', import.meta.url)),
      '@loam/api': src('api'),
      '@loam/server': src('server'),
      '@loam/sdk/grpc': fileURLToPath(new URL('./packages/sdk/src/grpc.ts', import.meta.url)),
      '@loam/sdk/node': fileURLToPath(new URL('./packages/sdk/src/node.ts', import.meta.url)),
      '@loam/sdk': src('sdk'),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    // Finds PostgreSQL, Redis and NATS on their default local ports (LOAM_TEST_* override).
    globalSetup: ['packages/server/src/test/global-setup.ts'],
    // pdf.js says once per worker that Node should use its legacy build; unpdf handles that.
    onConsoleLog: (log) => !log.includes('Please use the `legacy` build'),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Files in parallel on every core (vitest's default leaves one idle): most of a test's time is
    // spent waiting on PostgreSQL, sockets and timers, not on the CPU.
    maxWorkers: 3,
    minWorkers: 1,
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.vitest-results.json' },
  },
});
