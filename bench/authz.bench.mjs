#!/usr/bin/env node
/**
 * Authorization benchmark: the cost of one access decision, in microseconds.
 *
 *   scope check      the built-in scope/tenant check alone (what a tenant without policies pays)
 *   cedar, cached    CedarAuthorizer.authorize() for a request decided before (cache hit)
 *   cedar, uncached  CedarAuthorizer.authorize() for a new request each time (cache miss:
 *                    Cedar's pre-parsed policy set evaluates it)
 *   isAuthorized     @cedar-policy/cedar-wasm isAuthorized() parsing the policies on every
 *                    call — the naive use of the library, for comparison
 *
 * with 10 and 100 policies in the tenant. In-process, one event loop; SQLite in a temp directory
 * (the database is read only when a tenant's policy-set version is re-checked, once a second).
 *
 * Run: node bench/authz.bench.mjs   (--json for a machine-readable line; BENCH_MS=ms per case, default 1500)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.test.json', import.meta.url)) });
const { createLoam } = await import('../packages/server/src/app.ts');
const { loadConfig } = await import('../packages/server/src/config.ts');
const { scopeAuthorizer } = await import('../packages/server/src/platform/authz.ts');
const { cedar, toCedarRequest } = await import('../packages/server/src/modules/policies/cedar.ts');

const json = process.argv.includes('--json');
const BENCH_MS = Number(process.env.BENCH_MS ?? 1500);

/** Realistic tenant policies: roles, departments, clearance, classification, network, hours. */
function policyTexts(n) {
  const base = [
    'permit(principal in Loam::Role::"data_scientist", action == Loam::Action::"read", resource is Loam::Dataset) when { resource.hasTag("department") && resource.getTag("department") == principal.department };',
    'permit(principal in Loam::Role::"data_engineer", action, resource);',
    'forbid(principal, action, resource) when { resource.classification == "restricted" && principal.clearance < 3 };',
    'forbid(principal, action == Loam::Action::"write", resource) unless { context.ip.isInRange(ip("10.0.0.0/8")) };',
    'forbid(principal, action == Loam::Action::"delete", resource) unless { context.time.toTime() >= duration("8h") && context.time.toTime() < duration("18h") };',
  ];
  const out = [];
  for (let i = 0; i < n; i++)
    out.push(
      i < base.length
        ? base[i]
        : `permit(principal, action == Loam::Action::"read", resource is Loam::Content) when { principal.department == "dept-${i}" && resource.owner == "owner-${i}" };`,
    );
  return out;
}

function measure(fn, warmup = 2000) {
  for (let i = 0; i < warmup; i++) fn(i); // warm-up (JIT)
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(BENCH_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) fn(ops++);
    now = process.hrtime.bigint();
  }
  return Number(now - start) / 1000 / ops; // µs per op
}

async function measureAsync(fn) {
  for (let i = 0; i < 2000; i++) await fn(i);
  let ops = 0;
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(BENCH_MS) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) await fn(ops++);
    now = process.hrtime.bigint();
  }
  return Number(now - start) / 1000 / ops;
}

const principal = {
  tenantId: 'default',
  subject: 'usr_bench',
  kind: 'user',
  roles: ['data_scientist'],
  scopes: [],
  attributes: { department: 'finance', clearance: '2' },
};
const request = (id) => ({
  principal,
  action: 'datasets:read',
  resource: { type: 'dataset', id, tenantId: 'default', attributes: { department: 'finance', classification: 'internal' } },
  context: { ip: '10.1.2.3' },
});

const results = [];
for (const count of [10, 100]) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'loam-bench-authz-'));
  const config = loadConfig(
    {},
    { dataDir, logLevel: 'silent', adminApiKey: 'loam_sk_bench_admin_0123456789abcdefghij', policyCacheSize: 10_000 },
  );
  const loam = await createLoam(config);
  await loam.migrate();
  await loam.bootstrap();
  const texts = policyTexts(count);
  const admin = {
    tenantId: 'default',
    principal: { tenantId: 'default', subject: 'key_bench', kind: 'api_key', roles: ['admin'], scopes: [] },
    requestId: 'req_bench',
    ip: '10.0.0.1', // the policies below forbid writes (policy changes included) from outside 10.0.0.0/8
  };
  for (const [i, policy] of texts.entries()) await loam.services.policies.create(admin, { name: `p${i}`, policy });
  const authorizer = loam.platform.authorizer;
  const first = await authorizer.authorize(request('ds_check'));
  if (!first.allowed) throw new Error(`benchmark request should be allowed: ${JSON.stringify(first)}`);

  const scope = await measureAsync(() => scopeAuthorizer.authorize(request('ds_same')));
  const cached = await measureAsync(() => authorizer.authorize(request('ds_same')));
  const uncached = await measureAsync((i) => authorizer.authorize(request(`ds_${count}_${i}`)));
  const staticPolicies = Object.fromEntries(texts.map((t, i) => [`p${i}`, t]));
  const naive = measure((i) => {
    const r = toCedarRequest(request(`ds_naive_${i}`), Date.now());
    const answer = cedar.isAuthorized({ ...r, policies: { staticPolicies } });
    if (answer.type !== 'success') throw new Error(JSON.stringify(answer));
  }, 20);
  results.push({ policies: count, scope_us: scope, cached_us: cached, uncached_us: uncached, naive_is_authorized_us: naive });
  await loam.close(1000);
  rmSync(dataDir, { recursive: true, force: true });
}

const f = (us) => (us < 10 ? us.toFixed(2) : us.toFixed(1));
if (json) console.log(JSON.stringify({ bench: 'authz', node: process.version, cores: os.cpus().length, results }));
else {
  console.log(`authz: µs per decision (node ${process.version}, ${os.cpus().length} cores, ${BENCH_MS} ms per case)`);
  console.log('policies | scope check | cedar, cached | cedar, uncached | isAuthorized (parse per call)');
  for (const r of results)
    console.log(
      `${String(r.policies).padStart(8)} | ${f(r.scope_us).padStart(11)} | ${f(r.cached_us).padStart(13)} | ${f(r.uncached_us).padStart(15)} | ${f(r.naive_is_authorized_us).padStart(10)}`,
    );
}
