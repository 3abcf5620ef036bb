// Bundles the built CLI (packages/cli/dist, from `tsc -b`) into packages/cli/dist/loam.mjs, which
// `npm start` and the `loam` bin run (through packages/cli/bin/loam.mjs). Loading ~1,200 module
// files was ~80 % of start-up; the bundle loads a handful. Run by `npm run build`, after `tsc -b`.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const cli = join(dirname(fileURLToPath(import.meta.url)), '../packages/cli');
const outdir = join(cli, 'dist');

// Loaded by node from node_modules at run time, not bundled:
// - packages with native code (found next to their own files);
// - third-party packages Loam loads on first use (`import()`), and the S3/KMS SDKs (loaded only
//   with an S3 blob store or a KMS): bundling them would not speed up start-up, and left to node
//   they run exactly as the test suites run them. Modules loaded with a `createRequire` require
//   (compromise, pg, linkedom, …) are resolved at run time anyway.
const NATIVE = ['better-sqlite3', '@node-rs/argon2'];
const LAZY = ['@aws-sdk/*'];
const lazyImports = {
  name: 'lazy-imports-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'dynamic-import' && !args.path.startsWith('@loam/') ? { path: args.path, external: true } : undefined,
    );
  },
};

/**
 * Bundles the CLI into `dist/<name>.mjs`. `plugins` are added to the build's own: the tracing
 * benchmark (bench/observatory.bench.mjs) builds a variant with `platform/tracing.js` left out.
 */
export async function bundle({ name = 'loam', plugins = [] } = {}) {
  await build({
    entryPoints: { [name]: join(outdir, 'index.js') },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true, // `import()`s of Loam's own modules stay separate, lazily loaded chunks
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked', // chains tsc's maps: `node --enable-source-maps` shows TypeScript lines
    external: [...NATIVE, ...LAZY],
    plugins: [...plugins, lazyImports],
    // Bundled CommonJS packages call `require` for Node built-ins and optional packages.
    banner: {
      js: "import { createRequire as __loamCreateRequire } from 'node:module';\nconst require = __loamCreateRequire(import.meta.url);",
    },
    define: {
      __LOAM_SERVER_VERSION__: JSON.stringify(JSON.parse(readFileSync(join(cli, '../server/package.json'), 'utf8')).version),
    },
    // Without comments (and whitespace) the source is smaller and ASCII (see assertAscii); names stay.
    minifyWhitespace: true,
    legalComments: 'linked', // licence comments of bundled packages: in <chunk>.LEGAL.txt beside each chunk
    logLevel: 'warning',
  });
  assertAscii(outdir, name);
}

/**
 * V8 keeps a script's source for its whole life, one byte per character if every character is
 * Latin-1 and two otherwise: one `’` in a comment or regex literal doubles the heap the ~3.5 MB main
 * chunk takes in every Loam process. esbuild escapes strings but not regex literals: write those
 * characters as `\u2019` in the source.
 */
function assertAscii(dir, name) {
  for (const file of [join(dir, `${name}.mjs`), ...readdirSync(join(dir, 'chunks')).map((f) => join(dir, 'chunks', f))]) {
    if (!file.endsWith('.mjs')) continue;
    const text = readFileSync(file, 'latin1');
    const at = text.search(/[\x80-\xff]/);
    if (at >= 0) throw new Error(`${file}: a non-ASCII character in the bundle: …${text.slice(at - 60, at + 20)}… (escape it as \\uXXXX)`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(join(outdir, 'chunks'), { recursive: true, force: true }); // chunk names carry content hashes
  await bundle();
}
