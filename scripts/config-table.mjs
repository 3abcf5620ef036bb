// Prints the configuration table from the server's option list; `--write` updates README.md
// between the CONFIG markers. Run after `npm run build`: `npm run docs:config`.
import { readFileSync, writeFileSync } from 'node:fs';
import { configOptions } from '../packages/server/dist/index.js';

const def = (schema) => {
  const d = schema.default;
  if (d === '' || d === undefined) return '—';
  return `\`${typeof d === 'string' ? d : JSON.stringify(d)}\``;
};
const rows = Object.entries(configOptions).map(
  ([key, o]) =>
    `| \`${o.env}\` | \`${key}\` | ${def(o.schema)} | ${o.doc.replaceAll('|', '\\|')}${o.secret ? ' (secret: redacted in logs)' : ''} |`,
);
const table = ['| Environment variable | Config file key | Default | Meaning |', '|---|---|---|---|', ...rows].join('\n');

if (process.argv.includes('--write')) {
  const readme = readFileSync('README.md', 'utf8');
  const start = '<!-- CONFIG:START -->';
  const end = '<!-- CONFIG:END -->';
  const a = readme.indexOf(start);
  const b = readme.indexOf(end);
  if (a < 0 || b < 0) throw new Error('README.md lacks the CONFIG markers');
  writeFileSync('README.md', `${readme.slice(0, a + start.length)}\n${table}\n${readme.slice(b)}`);
} else {
  console.log(table);
}
