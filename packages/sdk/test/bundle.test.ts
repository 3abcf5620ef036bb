/**
 * The core entry must run outside Node (browsers, Deno, Bun) and stay small: bundle it the way a
 * web app would and check both.
 */
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const entry = (name: string) => fileURLToPath(new URL(`../src/${name}.ts`, import.meta.url));

async function bundle(name: string, platform: 'browser' | 'node') {
  const result = await build({
    entryPoints: [entry(name)],
    bundle: true,
    minify: true,
    format: 'esm',
    platform,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  return { code: new TextDecoder().decode(code), gzipped: gzipSync(code).byteLength, inputs: Object.keys(result.metafile.inputs) };
}

describe('bundle', () => {
  it('the core entry has no Node-only import and is at most 25 KB minified + gzipped', async () => {
    const core = await bundle('index', 'browser'); // a browser build fails on any node: import
    expect(core.code).not.toMatch(/\bnode:/);
    expect(core.inputs.every((f) => f.includes('packages/sdk/src/'))).toBe(true); // no runtime dependency pulled in
    expect(core.gzipped).toBeLessThanOrEqual(25 * 1024);
  });

  it('file-path uploads live in the Node entry', async () => {
    const node = await bundle('node', 'node');
    expect(node.code).toMatch(/node:fs/);
  });
});
