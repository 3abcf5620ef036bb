/**
 * The deployment files (Dockerfile, deploy/compose.yaml, deploy/kubernetes/) cannot be run on the
 * development machines (no Docker, no cluster). What can be checked here is checked: they parse,
 * every LOAM_* variable they set is one config.ts reads, the probes, resources and disruption
 * budget are what docs/deploy.md promises, and the Dockerfile runs npm scripts package.json has.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { options } from '../config.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const KNOWN = new Set(Object.values(options).map((o) => o.env));

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML of any shape
type Obj = Record<string, any>;

function kubernetesObjects(): Obj[] {
  const dir = 'deploy/kubernetes/';
  return readdirSync(`${root}${dir}`)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((f) =>
      parseAllDocuments(read(`${dir}${f}`)).map((d) => {
        expect(d.errors, f).toEqual([]);
        return { ...(d.toJS() as Obj), file: f };
      }),
    );
}

const byKind = (objects: Obj[], kind: string, name: string) => {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  expect(found, `${kind}/${name}`).toBeDefined();
  return found as Obj;
};

/** MiB of a Kubernetes quantity such as 128Mi or 1Gi. */
const mib = (q: string) => {
  const m = /^(\d+)(Mi|Gi)$/.exec(q);
  expect(m, q).not.toBeNull();
  return Number(m?.[1]) * (m?.[2] === 'Gi' ? 1024 : 1);
};

const oldSpace = (nodeOptions: string) => Number(/--max-old-space-size=(\d+)/.exec(nodeOptions)?.[1]);

describe('Kubernetes manifests', () => {
  const objects = kubernetesObjects();
  const config = byKind(objects, 'ConfigMap', 'loam-config');
  const secret = byKind(objects, 'Secret', 'loam-secrets');

  it('configure Loam only with variables config.ts knows, secrets only through the Secret', () => {
    const set = [...Object.keys(config.data), ...Object.keys(secret.stringData)].filter((k) => k.startsWith('LOAM_'));
    expect(set.filter((k) => !KNOWN.has(k))).toEqual([]);
    const secretOptions = new Set(
      Object.values(options)
        .filter((o) => 'secret' in o && o.secret)
        .map((o) => o.env),
    );
    expect(Object.keys(config.data).filter((k) => secretOptions.has(k))).toEqual([]);
    for (const k of ['LOAM_DATABASE_URL', 'LOAM_REDIS_URL', 'LOAM_NATS_URL', 'LOAM_SECRET_KEY'])
      expect(secret.stringData).toHaveProperty(k);
    // Listening on loopback (the default) would make every probe fail.
    expect(config.data.LOAM_HOST).toBe('0.0.0.0');
    expect(config.data.LOAM_MIGRATE).toBe('false');
  });

  it('run two API replicas with /healthz liveness, /readyz readiness, 128Mi request and 256Mi limit', () => {
    const api = byKind(objects, 'Deployment', 'loam');
    expect(api.spec.replicas).toBeGreaterThanOrEqual(2);
    expect(api.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const [c] = api.spec.template.spec.containers;
    expect(c.args).toEqual(['serve']);
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(c.ports.map((p: Obj) => p.containerPort)).toContain(Number(config.data.LOAM_PORT));
    expect(mib(c.resources.requests.memory)).toBe(128);
    expect(mib(c.resources.limits.memory)).toBe(256);
    // The V8 old space fits under the limit with room for the young generation and native memory.
    const heap = oldSpace(config.data.NODE_OPTIONS);
    expect(heap).toBeGreaterThan(128);
    expect(heap).toBeLessThanOrEqual(256 - 48);
    // Graceful shutdown (LOAM_SHUTDOWN_TIMEOUT_MS) fits in the grace period.
    expect(api.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(config.data.LOAM_SHUTDOWN_TIMEOUT_MS));
  });

  it('keep one of the two replicas through voluntary disruptions, behind a Service that selects them', () => {
    const api = byKind(objects, 'Deployment', 'loam');
    const labels = api.spec.template.metadata.labels;
    const pdb = byKind(objects, 'PodDisruptionBudget', 'loam');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.minAvailable).toBe(1);
    expect(pdb.spec.minAvailable).toBeLessThan(api.spec.replicas);
    const service = byKind(objects, 'Service', 'loam');
    for (const selector of [pdb.spec.selector.matchLabels, service.spec.selector]) {
      for (const [k, v] of Object.entries(selector)) expect(labels[k], k).toBe(v);
    }
  });

  it('run a worker Deployment and a migration Job from the same image and configuration', () => {
    const api = byKind(objects, 'Deployment', 'loam');
    const worker = byKind(objects, 'Deployment', 'loam-worker');
    const job = byKind(objects, 'Job', 'loam-migrate');
    const image = api.spec.template.spec.containers[0].image;
    for (const [o, args] of [
      [worker, ['worker']],
      [job, ['migrate']],
    ] as const) {
      const [c] = o.spec.template.spec.containers;
      expect(c.args).toEqual(args);
      expect(c.image).toBe(image);
      expect(c.envFrom).toEqual(api.spec.template.spec.containers[0].envFrom);
      expect(mib(c.resources.limits.memory)).toBe(256);
    }
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    // The Job is applied on its own before the rollout, not with the long-lived objects.
    const kustomization = parse(read('deploy/kubernetes/kustomization.yaml')) as Obj;
    expect(kustomization.resources).not.toContain('migrate-job.yaml');
    const listed = new Set(objects.filter((o) => o.kind !== 'Job').map((o) => o.file));
    expect(new Set(kustomization.resources)).toEqual(listed);
  });
});

describe('deploy/compose.yaml', () => {
  const compose = parse(read('deploy/compose.yaml'), { merge: true }) as Obj;
  const services = compose.services as Record<string, Obj>;

  it('runs two replicas, a worker, a one-shot migration they wait for, and the backing services', () => {
    for (const name of ['loam-1', 'loam-2', 'worker', 'migrate', 'lb', 'postgres', 'redis', 'nats', 'minio']) {
      expect(services, name).toHaveProperty(name);
    }
    expect(services.migrate.command).toEqual(['migrate']);
    expect(services.worker.command).toEqual(['worker']);
    for (const name of ['loam-1', 'loam-2', 'worker']) {
      expect(services[name].depends_on.migrate.condition).toBe('service_completed_successfully');
    }
    expect(services.nats.command).toContain('-js');
  });

  it('sets only LOAM_* variables config.ts knows, and no replica migrates', () => {
    for (const name of ['loam-1', 'loam-2', 'worker', 'migrate']) {
      const env = services[name].environment as Record<string, string>;
      expect(Object.keys(env).filter((k) => k.startsWith('LOAM_') && !KNOWN.has(k))).toEqual([]);
      expect(env.LOAM_MIGRATE).toBe('false');
      expect(env.LOAM_HOST).toBe('0.0.0.0');
      expect(services[name].deploy.resources.limits.memory).toBe('256M');
      expect(oldSpace(env.NODE_OPTIONS)).toBeLessThanOrEqual(256 - 48);
    }
  });

  it('balances onto both replicas with /readyz health checks', () => {
    const haproxy = read('deploy/haproxy.cfg');
    expect(haproxy).toMatch(/option httpchk GET \/readyz/);
    // Only requests that never reached a replica are retried: a POST a dying replica took may have committed.
    expect(haproxy).toMatch(/^\s*retry-on conn-failure$/m);
    expect(haproxy).toMatch(/on-error mark-down/);
    for (const name of ['loam-1', 'loam-2']) expect(haproxy).toMatch(new RegExp(`server ${name} ${name}:8080`));
  });
});

const HAPROXY = ['/usr/sbin/haproxy', '/usr/bin/haproxy'].find((b) => existsSync(b));

describe('deploy/haproxy.cfg', () => {
  it.skipIf(!HAPROXY)('is a configuration HAProxy accepts (haproxy -c; the compose service names do not resolve here)', () => {
    const out = execFileSync(HAPROXY as string, ['-c', '-f', `${root}deploy/haproxy.cfg`], { encoding: 'utf8', stdio: 'pipe' });
    expect(out).toMatch(/Configuration file is valid/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
  const ci = read('.ci/run');

  it('builds with the npm commands CI runs, keeping only production dependencies', () => {
    const runs = [...dockerfile.matchAll(/^RUN (npm .*)$/gm)].map((m) => m[1]);
    expect(runs.map((r) => r.split(' ').slice(0, 2).join(' '))).toEqual(['npm ci', 'npm run', 'npm prune']);
    for (const script of runs.flatMap((r) => [...r.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]))) {
      expect(pkg.scripts, script).toHaveProperty(script);
      expect(ci).toContain(`npm run ${script}`);
    }
    expect(ci).toMatch(/npm ci\b/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
  });

  it('runs as a non-root user under an init that forwards signals, with a /healthz health check', () => {
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const runtime = stages[stages.length - 1];
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/app\/packages\/cli\/bin\/loam\.mjs"\]$/m);
    expect(runtime).toMatch(/^HEALTHCHECK [\s\S]*\/healthz/m);
    expect(runtime).not.toMatch(/^RUN npm ci/m);
    const env = /^ENV [\s\S]*?(?=^\S)/m.exec(runtime)?.[0] ?? '';
    expect(env).toMatch(/LOAM_HOST=0\.0\.0\.0/);
    for (const [, name] of env.matchAll(/(LOAM_\w+)=/g)) expect(KNOWN.has(name), name).toBe(true);
  });

  it('is fed only what the build needs', () => {
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['.git', '**/node_modules', '**/dist', 'data']) expect(ignored).toContain(entry);
  });
});
