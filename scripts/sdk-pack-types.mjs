// Makes the packed @loam/sdk self-contained: its declarations import the request and response types
// from `@loam/api`, a workspace package that is not published. Run by npm around `npm pack` /
// `npm publish` of packages/sdk:
//   bundle  (prepack):  copies packages/api/dist/*.d.ts to packages/sdk/dist/api/ and points every
//                       `'@loam/api'` specifier of packages/sdk/dist/**/*.d.ts at that copy;
//   restore (postpack): undoes it, so the workspace builds against @loam/api again.
// The copied declarations use only `@sinclair/typebox` types, a dependency of @loam/sdk. The SDK's
// JavaScript imports nothing from @loam/api (type-only imports), which this script checks, except
// `@loam/api/grpc` (the generated gRPC descriptors of `@loam/sdk/grpc`): that folder is copied
// whole, JavaScript included, and imported relatively; it needs `@bufbuild/protobuf`, a dependency.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const apiDist = join(root, 'packages/api/dist');
const dist = join(root, 'packages/sdk/dist');
const bundled = join(dist, 'api');
const mode = process.argv[2];

function files(dir, test) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (p !== bundled) out.push(...files(p, test));
    } else if (test(e.name)) out.push(p);
  }
  return out;
}

const specifier = (file, target = 'index.js') => {
  const rel = relative(dirname(file), join(bundled, target)).split(sep).join('/');
  return rel.startsWith('.') ? rel : `./${rel}`;
};
const GRPC = 'grpc/index.js';
const quoted = (s) => new RegExp(`(from |import\\()(['"])${s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\2`, 'g');

if (!existsSync(join(dist, 'index.d.ts'))) {
  console.error('sdk-pack-types: packages/sdk/dist is not built (run npx tsc -b)');
  process.exit(1);
}
const declarations = files(dist, (n) => n.endsWith('.d.ts'));

if (mode === 'bundle') {
  for (const js of files(dist, (n) => n.endsWith('.js'))) {
    if (/['"]@loam\/api['"]/.test(readFileSync(js, 'utf8'))) {
      console.error(`sdk-pack-types: ${relative(root, js)} imports @loam/api at run time; import its types with \`import type\``);
      process.exit(1);
    }
  }
  rmSync(bundled, { recursive: true, force: true });
  const grpcDir = join(apiDist, 'grpc');
  cpSync(apiDist, bundled, {
    recursive: true,
    filter: (src) => src === apiDist || src.endsWith('.d.ts') || src.startsWith(grpcDir),
  });
  for (const file of files(bundled, (n) => n.endsWith('.d.ts') || n.endsWith('.js'))) {
    const text = readFileSync(file, 'utf8');
    if (/from ['"](?!\.|@sinclair\/typebox['"]|@bufbuild\/protobuf[/'"])/.test(text)) {
      console.error(`sdk-pack-types: ${relative(root, file)} imports a package other than @sinclair/typebox or @bufbuild/protobuf`);
      process.exit(1);
    }
  }
  for (const file of [...declarations, ...files(dist, (n) => n.endsWith('.js'))]) {
    const text = readFileSync(file, 'utf8');
    const next = text
      .replace(quoted('@loam/api/grpc'), (_, kw, q) => `${kw}${q}${specifier(file, GRPC)}${q}`)
      .replace(quoted('@loam/api'), (_, kw, q) => `${kw}${q}${specifier(file)}${q}`);
    if (next !== text) writeFileSync(file, next);
  }
  console.log(`sdk-pack-types: ${files(bundled, () => true).length} @loam/api declarations bundled into dist/api`);
} else if (mode === 'restore') {
  for (const file of [...declarations, ...files(dist, (n) => n.endsWith('.js'))]) {
    const text = readFileSync(file, 'utf8');
    const next = text
      .replace(quoted(specifier(file, GRPC)), (_, kw, q) => `${kw}${q}@loam/api/grpc${q}`)
      .replace(quoted(specifier(file)), (_, kw, q) => `${kw}${q}@loam/api${q}`);
    if (next !== text) writeFileSync(file, next);
  }
  rmSync(bundled, { recursive: true, force: true });
} else {
  console.error('usage: node scripts/sdk-pack-types.mjs bundle|restore');
  process.exit(2);
}
