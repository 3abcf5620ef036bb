// The layering of packages/server (docs/architecture.md), checked by `npm run lint`.
const SRC = '^packages/server/src/';
const TESTS = '(\\.test\\.ts$|/test/|/testing\\.ts$)';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Import cycles make initialisation order fragile and layers meaningless.',
      from: { pathNot: TESTS },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-circular-types',
      severity: 'error',
      comment: 'Type-only cycles too: a cycle through types still ties two layers together.',
      from: { pathNot: TESTS },
      to: { circular: true },
    },
    {
      name: 'platform-imports-no-module',
      severity: 'error',
      comment: 'platform/ is infrastructure: it knows no capability. Modules plug into it through ports.',
      from: { path: `${SRC}platform/`, pathNot: TESTS },
      to: { path: `${SRC}(modules/|app\\.ts)` },
    },
    {
      name: 'only-the-entry-imports-app',
      severity: 'error',
      comment: 'app.ts is the composition root: modules get what they need from their factory arguments.',
      from: { path: SRC, pathNot: [`${SRC}(main|index)\\.ts$`, TESTS] },
      to: { path: `${SRC}app\\.ts$` },
    },
    {
      name: 'no-foreign-store',
      severity: 'error',
      comment: "A module reaches another module's data through that module's service, never its store or tables.",
      from: { path: `${SRC}modules/([^/]+)/`, pathNot: TESTS },
      to: { path: `${SRC}modules/[^/]+/(store|tables|migrations)`, pathNot: `${SRC}modules/$1/` },
    },
    {
      name: 'only-the-dialect-names-a-driver',
      severity: 'error',
      comment: 'Only platform/db/dialect/ knows which database it is.',
      from: { path: SRC, pathNot: [`${SRC}platform/db/dialect/`, TESTS] },
      to: { path: 'node_modules/(pg|better-sqlite3|@types/pg|@types/better-sqlite3)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)dist/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.test.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
