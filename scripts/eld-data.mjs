// Writes the n-gram table of the language detector (eld's extra-small one, 60 languages) as JSON to
// packages/server/dist/eld-extrasmall.json, which modules/content/language.ts loads. eld ships the
// table as a ~1 MB JavaScript object literal: importing it costs ~28 MB of heap and ~85 MB of
// resident memory that V8's parser leaves behind; JSON.parse of the same table ~15 MB and ~25 MB.
// Run by `npm run build`, after `tsc -b`.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { eldDir } from '../packages/server/dist/modules/content/language.js';

const out = join(dirname(fileURLToPath(import.meta.url)), '../packages/server/dist/eld-extrasmall.json');
const { ngramsData } = await import(pathToFileURL(join(eldDir(), 'src/ngrams/extrasmall.js')).href);
writeFileSync(out, JSON.stringify(ngramsData));
