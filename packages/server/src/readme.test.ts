import { readFileSync } from 'node:fs';
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
