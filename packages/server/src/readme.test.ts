import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { options } from './config.js';

describe('README', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  it('documents every configuration option (regenerate with `npm run docs:config`)', () => {
    const missing = Object.values(options)
      .map((o) => o.env)
      .filter((env) => !readme.includes(`\`${env}\``));
    expect(missing).toEqual([]);
  });
  it('shows the run and test commands', () => {
    expect(readme).toContain('npm start');
    expect(readme).toContain('npm test');
  });
});

describe('documentation links', () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const docs = ['README.md', ...readdirSync(join(root, 'docs'), { recursive: true }).map((f) => join('docs', String(f)))].filter((f) =>
    f.endsWith('.md'),
  );

  it('every relative link of README.md and docs/ points at a file inside the repository', () => {
    const broken: string[] = [];
    for (const file of docs) {
      // Code blocks are code, not Markdown (Go's `NewBroker[T](client)` is no link).
      const text = readFileSync(join(root, file), 'utf8').replace(/```[\s\S]*?```/g, '');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:|^#/.test(target)) continue;
        const path = resolve(root, dirname(file), target.split('#')[0]);
        if (relative(root, path).startsWith('..') || !existsSync(path)) broken.push(`${file}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the contracts are part of the documentation (docs/contracts/)', () => {
    expect(existsSync(join(root, 'docs/contracts/atriumn.md'))).toBe(true);
    expect(existsSync(join(root, 'docs/contracts/api-v1.md'))).toBe(true);
  });
});
