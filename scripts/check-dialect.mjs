#!/usr/bin/env node
// Only platform/db/dialect/ knows which database Loam runs on (DESIGN.md): no other source file
// may load a driver ('pg', 'better-sqlite3') or compare against a dialect name. Tests are exempt
// (they open databases and pick dialects to run on). Run by `npm run lint`.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const DIALECT_DIR = ['packages', 'server', 'src', 'platform', 'db', 'dialect'].join(sep) + sep;
const DRIVER = /(?:from\s+|import\s*\(\s*|require\s*\(\s*|\)\s*\(\s*)['"](?:pg|better-sqlite3)(?:\/[^'"]*)?['"]/;
const NAME = /(?:[!=]==?|\bcase)\s*['"](?:postgres|sqlite)['"]|['"](?:postgres|sqlite)['"]\s*[!=]==?/;

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'dist' && entry.name !== 'test') yield* sources(path);
    } else if (/\.(?:[cm]?ts|[cm]?js)$/.test(entry.name) && !/\.test\.[cm]?[tj]s$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
      yield path;
    }
  }
}

const problems = [];
for (const pkg of readdirSync(join(root, 'packages'))) {
  let files;
  try {
    files = [...sources(join(root, 'packages', pkg, 'src'))];
  } catch {
    continue; // a package without src/
  }
  for (const file of files) {
    const rel = relative(root, file);
    if (rel.startsWith(DIALECT_DIR)) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (DRIVER.test(line)) problems.push(`${rel}:${i + 1}: loads a database driver (only platform/db/dialect/ may)`);
        if (NAME.test(line)) problems.push(`${rel}:${i + 1}: compares a dialect name (ask the SqlDialect adapter instead)`);
      });
  }
}
if (problems.length) {
  console.error(`check-dialect: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
