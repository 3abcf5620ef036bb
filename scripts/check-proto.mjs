#!/usr/bin/env node
// The generated gRPC code is committed (packages/api/src/grpc/gen): regenerate it from proto/
// into a temporary directory with buf (buf.gen.yaml) and fail when it differs from what is
// committed, or when buf lint finds a problem in the protos. `--write` regenerates in place.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');
const genDir = 'packages/api/src/grpc/gen';
const bin = join(root, 'node_modules/.bin');
// protoc-gen-es is found on the PATH, from node_modules/.bin.
const env = { ...process.env, PATH: `${bin}:${process.env.PATH}` };
const buf = (...args) => execFileSync(join(bin, 'buf'), args, { cwd: root, stdio: 'inherit', env });

if (process.argv.includes('--write')) {
  rmSync(join(root, genDir), { recursive: true, force: true });
  buf('generate');
  process.exit(0);
}

function* files(dir) {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) yield* files(path);
    else yield path;
  }
}

buf('lint');
const out = mkdtempSync(join(tmpdir(), 'loam-proto-'));
try {
  buf('generate', '--output', out);
  const fresh = new Map([...files(join(out, genDir))].map((p) => [relative(join(out, genDir), p), readFileSync(p, 'utf8')]));
  const committed = new Map([...files(join(root, genDir))].map((p) => [relative(join(root, genDir), p), readFileSync(p, 'utf8')]));
  const drift = [...new Set([...fresh.keys(), ...committed.keys()])].filter((f) => fresh.get(f) !== committed.get(f));
  if (drift.length > 0) {
    console.error(`generated gRPC code is out of date (run npm run proto:generate): ${drift.map((f) => join(genDir, f)).join(', ')}`);
    process.exit(1);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
