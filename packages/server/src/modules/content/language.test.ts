import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { builtTable, eldDir } from './language.js';

it("the language detector's built table is the installed eld's n-gram table (npm run build writes it)", async () => {
  const json = builtTable();
  expect(json, 'packages/server/dist/eld-extrasmall.json is missing: run npm run build').toBeDefined();
  const { ngramsData } = await import(pathToFileURL(join(eldDir(), 'src/ngrams/extrasmall.js')).href);
  expect(JSON.parse(readFileSync(json as string, 'utf8'))).toEqual(ngramsData);
});
