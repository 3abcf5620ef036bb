import { defineConfig } from 'vite';

// Served by Loam at /console/ (packages/server/src/platform/http/console.ts): hashed files under
// assets/ (cached for a year), nothing inlined as data: URIs, nothing loaded from elsewhere.
export default defineConfig({
  base: '/console/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    reportCompressedSize: false,
  },
});
