#!/usr/bin/env node
// Files that fit in a head (issue #14): no non-test .ts file in packages/*/src over 600 lines,
// no function body (declaration, method, accessor, constructor, arrow or function expression)
// spanning over 150 lines. Route tables count: a registration function is a function.
// Prints every offender as `path:line name length` and exits 1 if there is any.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const MAX_FILE_LINES = 600;
const MAX_FUNCTION_LINES = 150;

const root = join(import.meta.dirname, '..');
const packagesDir = join(root, 'packages');

function* sourceFiles(dir) {
  for (const entry of readdirSync(dir)) {
    if (entry === 'node_modules' || entry === 'dist') continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    // Generated protobuf code (*_pb.ts, from proto/ by buf) is not written by hand.
    else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts') && !entry.endsWith('.d.ts') && !entry.endsWith('_pb.ts')) yield path;
  }
}

function functionName(node, sourceFile) {
  if (node.name) return node.name.getText(sourceFile);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  // An anonymous function takes the name of what it is assigned to or passed as.
  const parent = node.parent;
  if (parent && (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))) {
    return parent.name.getText(sourceFile);
  }
  if (parent && ts.isCallExpression(parent)) {
    const callee = parent.expression.getText(sourceFile);
    const firstArg = parent.arguments[0];
    const label = firstArg && ts.isStringLiteralLike(firstArg) ? ` ${firstArg.text}` : '';
    return `${callee.length > 40 ? `${callee.slice(0, 40)}…` : callee}(${label.trim()}) callback`;
  }
  return '<anonymous>';
}

const offenders = [];
for (const pkg of readdirSync(packagesDir)) {
  const srcDir = join(packagesDir, pkg, 'src');
  try {
    if (!statSync(srcDir).isDirectory()) continue;
  } catch {
    continue;
  }
  for (const path of sourceFiles(srcDir)) {
    const text = readFileSync(path, 'utf8');
    const rel = relative(root, path);
    const sourceFile = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const fileLines = sourceFile.getLineAndCharacterOfPosition(text.length).line + (text.endsWith('\n') ? 0 : 1);
    if (fileLines > MAX_FILE_LINES) offenders.push(`${rel}:1 <file> ${fileLines} lines (max ${MAX_FILE_LINES})`);

    const visit = (node) => {
      if (ts.isFunctionLike(node) && node.body) {
        const start = sourceFile.getLineAndCharacterOfPosition(node.body.getStart(sourceFile)).line;
        const end = sourceFile.getLineAndCharacterOfPosition(node.body.getEnd()).line;
        const length = end - start + 1;
        if (length > MAX_FUNCTION_LINES) {
          offenders.push(`${rel}:${start + 1} ${functionName(node, sourceFile)} ${length} lines (max ${MAX_FUNCTION_LINES})`);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sourceFile);
  }
}

if (offenders.length > 0) {
  console.error(`check-size: ${offenders.length} offender(s)`);
  for (const line of offenders) console.error(`  ${line}`);
  process.exit(1);
}
console.log(`check-size: ok (files <= ${MAX_FILE_LINES} lines, functions <= ${MAX_FUNCTION_LINES} lines)`);
