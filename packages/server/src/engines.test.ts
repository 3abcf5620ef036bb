import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// semver comes with npm's own tool chain (a transitive dependency); loaded only by this test.
const semver = createRequire(import.meta.url)('semver') as {
  satisfies(v: string, range: string): boolean;
  minVersion(r: string): { version: string };
};

describe('supported Node versions', () => {
  const root = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  const lock = JSON.parse(readFileSync(new URL('../../../package-lock.json', import.meta.url), 'utf8'));

  it('every locked package supports the oldest Node the project declares (no EBADENGINE on npm install)', () => {
    const oldest = semver.minVersion(root.engines.node).version;
    const refusing = Object.entries(lock.packages as Record<string, { engines?: { node?: string }; optional?: boolean }>)
      .filter(([path, p]) => path && !p.optional && p.engines?.node && !semver.satisfies(oldest, p.engines.node))
      .map(([path, p]) => `${path} wants node ${p.engines?.node}`);
    expect(refusing).toEqual([]);
  });

  it('the running Node is one the project declares', () => {
    expect(semver.satisfies(process.version, root.engines.node)).toBe(true);
  });
});
