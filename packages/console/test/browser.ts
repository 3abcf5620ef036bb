/**
 * What every console test file shares: a Loam started from the built dist (`npm run build`) with
 * SQLite in a temporary directory, Debian's Chromium driven by playwright-core, and the checks run
 * on each page (axe-core, a screenshot at 1280×800). Screenshots go to a temporary directory, or
 * to docs/console/ with LOAM_CONSOLE_SCREENSHOTS=1 (how the committed ones were made).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page, chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
const LOAM_BIN = join(ROOT, 'packages/cli/bin/loam.mjs');
const CONSOLE_DIST = join(ROOT, 'packages/console/dist/index.html');
export const ADMIN_KEY = 'loam_sk_console_test_admin_key_0123456789';
const SHOTS =
  process.env.LOAM_CONSOLE_SCREENSHOTS === '1' ? join(ROOT, 'docs/console') : mkdtempSync(join(tmpdir(), 'loam-console-shots-'));
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** CI (.ci/run installs Chromium) insists on the browser; elsewhere its absence is a visible skip. */
export function requireChromium(suite: string) {
  if (HAS_CHROMIUM) return;
  if (process.env.CI === 'true') describe(suite, () => it(`needs ${CHROMIUM}`, () => expect.fail('apt-get install -y chromium')));
  else console.log(`skipped: no ${CHROMIUM} (apt-get install -y chromium; .ci/run installs it)`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function until<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    let v: T | undefined;
    try {
      v = await fn();
    } catch (err) {
      if ((err as Error).message.startsWith('loam exited')) throw err;
    }
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`not ready after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ConsoleRun {
  origin: string;
  page: Page;
  /** Console errors, page errors, failed requests and requests to other origins, as they happened. */
  problems: string[];
  /** Opens a page of the console, waits until it has loaded, scans it with axe-core and screenshots it. */
  visit: (path: string, heading: string, shot: string) => Promise<void>;
  /** Scans the page as it is with axe-core (no serious or critical violation) and screenshots it. */
  scan: (name: string) => Promise<void>;
  /** Signs in with the admin API key and waits for the overview. */
  signIn: () => Promise<void>;
  close: () => Promise<void>;
}

/** Starts Loam (with `env` added) and a browser page on it. */
export async function startConsole(env: Record<string, string> = {}): Promise<ConsoleRun> {
  expect(existsSync(LOAM_BIN) && existsSync(CONSOLE_DIST), 'run `npm run build` first').toBe(true);
  const axeSource = readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8');
  const dataDir = mkdtempSync(join(tmpdir(), 'loam-console-'));
  mkdirSync(SHOTS, { recursive: true });
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const loamProc: ChildProcess = spawn(process.execPath, [LOAM_BIN, 'serve'], {
    env: {
      PATH: process.env.PATH,
      LOAM_PORT: String(port),
      LOAM_HOST: '127.0.0.1',
      LOAM_DATA_DIR: dataDir,
      LOAM_ADMIN_API_KEY: ADMIN_KEY,
      LOAM_LOG_LEVEL: 'warn',
      LOAM_GRPC_ENABLED: 'false',
      LOAM_JOB_POLL_MS: '50',
      LOAM_RELAY_POLL_MS: '50',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    loamProc.kill('SIGTERM');
    if (loamProc.exitCode === null) await new Promise((r) => loamProc.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const [, launched] = await Promise.all([
      until(async () => {
        if (loamProc.exitCode !== null) throw new Error(`loam exited with ${loamProc.exitCode}`);
        return (await fetch(`${origin}/readyz`)).ok ? true : undefined;
      }, 30_000),
      chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS }),
    ]);
    browser = launched;
  } catch (err) {
    await close();
    throw err;
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on(
    'requestfailed',
    (r) =>
      r.failure()?.errorText !== 'net::ERR_ABORTED' && problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`),
  );
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
      problems.push(`third-party request: ${r.url()}`);
  });

  const scan = async (name: string) => {
    // Evaluated through the DevTools protocol: the page's CSP (script-src 'self') stays on.
    if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const axe = (
        globalThis as unknown as {
          axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: unknown[] }[] }> };
        }
      ).axe;
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length }));
    });
    expect(
      violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'),
      name,
    ).toEqual([]);
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  };
  const visit = async (path: string, heading: string, shot: string) => {
    await page.goto(`${origin}/console/#/${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.waitForFunction(() => !document.querySelector('main')?.textContent?.includes('Loading…'));
    await scan(shot);
  };
  const signIn = async () => {
    await page.goto(`${origin}/console/`);
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  };
  return { origin, page, problems, visit, scan, signIn, close };
}
