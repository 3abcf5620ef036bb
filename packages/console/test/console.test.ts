/**
 * The console in a real browser: Debian's Chromium driven by playwright-core against a Loam
 * started from the built dist (`npm run build`), one browser for every step (see browser.ts).
 */
import { Loam } from '@loam/sdk';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, type ConsoleRun, HAS_CHROMIUM, requireChromium, startConsole } from './browser.js';

requireChromium('the console in Chromium');

describe.skipIf(!HAS_CHROMIUM)('the console in Chromium', () => {
  let run: ConsoleRun;
  let origin: string;
  let page: Page;
  let problems: string[];
  const visit = (path: string, heading: string, shot: string) => run.visit(path, heading, shot);
  const scan = (name: string) => run.scan(name);

  beforeAll(async () => {
    run = await startConsole();
    ({ origin, page, problems } = run);
  }, 60_000);

  afterAll(async () => {
    await run?.close();
  });

  it('is served at /console with a strict CSP, no-cache HTML and year-long immutable assets', async () => {
    expect((await fetch(`${origin}/console`)).status).toBe(200);
    const html = await fetch(`${origin}/console/`);
    expect(html.status).toBe(200);
    expect(html.headers.get('cache-control')).toBe('no-cache');
    const csp = html.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const body = await html.text();
    const asset = /src="(\/console\/assets\/index-[\w-]+\.js)"/.exec(body)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${origin}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(js.headers.get('content-security-policy')).toBe(csp);
    expect((await fetch(`${origin}/console/assets/nope.js`)).status).toBe(404);
    const traversal = await fetch(`${origin}/console/assets/..%2f..%2fpackage.json`);
    expect([403, 404]).toContain(traversal.status);
    expect(await traversal.text()).not.toContain('@loam/console');
  });

  it('signs in with an API key and shows every page the key may see', async () => {
    await run.signIn();
    const nav = page.getByRole('navigation', { name: 'Console' });
    for (const name of ['Datasets', 'Knowledge', 'Privacy', 'Prompts', 'API keys', 'Audit log', 'Tenants'])
      await expect(nav.getByRole('link', { name }).count()).resolves.toBe(1);
  });

  it('creates a dataset, imports a CSV with progress, filters records', async () => {
    await visit('datasets', 'Datasets', 'datasets');
    await page.getByLabel('Name', { exact: true }).fill('customers');
    await page.getByLabel('Schema').fill('name!:string:name\nemail:string:email\nage:integer');
    await page.getByRole('button', { name: 'Create dataset' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dataset customers' }).waitFor();
    await page.getByRole('tab', { name: 'Import and export' }).click();
    const csv = 'id,name,email,age\nc1,Ada,ada@example.com,36\nc2,Grace,grace@example.com,45\nc3,Linus,linus@example.com,21\n';
    await page.getByLabel(/Drop a CSV/).setInputFiles({ name: 'customers.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await expect(page.getByTestId('import-status').textContent({ timeout: 20_000 })).resolves.toBeTruthy();
    await page
      .getByTestId('import-status')
      .filter({ hasText: 'succeeded: 3 of 3 records imported, 0 failed' })
      .waitFor({ timeout: 20_000 });
    expect(await page.locator('#import-progress').getAttribute('value')).toBe('100');
    expect(await page.locator('#upload-progress').evaluate((p: HTMLProgressElement) => p.value === p.max)).toBe(true);
    await scan('dataset-import');

    await page.getByRole('tab', { name: 'Records' }).click();
    await page.getByRole('table', { name: 'Records' }).waitFor();
    expect(await page.getByRole('table', { name: 'Records' }).locator('tbody tr').count()).toBe(3);
    await page.getByLabel('Field', { exact: true }).fill('age');
    await page.getByLabel('Operator').selectOption('$gte');
    await page.getByLabel('Value').fill('30');
    expect(await page.getByTestId('filter-json').textContent()).toBe('{"age":{"$gte":30}}');
    await page.getByRole('button', { name: 'Apply filter' }).click();
    await page.getByText('2 records matching the filter').waitFor();
    const rows = page.getByRole('table', { name: 'Records' }).locator('tbody tr');
    expect(await rows.allTextContents()).toEqual([expect.stringContaining('Ada'), expect.stringContaining('Grace')]);
    await scan('dataset-records');
  });

  it('diffs two versions field by field after a record is edited', async () => {
    await page.getByRole('tab', { name: 'Versions' }).click();
    await page.getByLabel('Version name').fill('first');
    await page.getByRole('button', { name: 'Create version' }).click();
    await page.getByRole('cell', { name: 'first' }).waitFor();

    await page.getByRole('tab', { name: 'Records' }).click();
    await page.getByRole('button', { name: 'c1' }).click();
    const editor = page.getByLabel(/Record data/);
    const data = JSON.parse(await editor.inputValue());
    await editor.fill(JSON.stringify({ ...data, age: 37 }));
    await page.getByRole('button', { name: 'Save record' }).click();
    await page.getByText('Saved revision 2').waitFor();

    await page.getByRole('tab', { name: 'Versions' }).click();
    await page.getByLabel('Version name').fill('second');
    await page.getByRole('button', { name: 'Create version' }).click();
    await page.getByRole('cell', { name: 'second' }).waitFor();
    await page.getByLabel('From version').selectOption({ label: 'v1 first' });
    await page.getByLabel('To version').selectOption({ label: 'v2 second' });
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByTestId('diff-summary').waitFor();
    expect(await page.getByTestId('diff-summary').textContent()).toBe('0 added 0 removed 1 modified');
    const change = page.getByRole('table', { name: 'Field changes' }).locator('tbody tr');
    expect(await change.allTextContents()).toEqual(['c1age3637']);
    await scan('dataset-versions');
    await page.getByRole('tab', { name: 'Lineage' }).click();
    await page.getByRole('img', { name: /Lineage graph/ }).waitFor();
    await scan('dataset-lineage');
  });

  it('analyzes a sentence in the PII playground and anonymizes it', async () => {
    await visit('privacy', 'Privacy', 'privacy');
    await page.getByRole('button', { name: 'Analyze' }).click();
    const highlighted = page.getByTestId('pii-highlighted');
    await highlighted.waitFor();
    expect(await highlighted.locator('mark', { hasText: 'ada@example.com' }).textContent()).toMatch(
      /^ada@example\.comEMAIL_ADDRESS \d\.\d\d$/,
    );
    await page.getByLabel('Operator').selectOption('redact');
    await page.getByRole('button', { name: 'Anonymize' }).click();
    const output = await page.getByTestId('pii-output').textContent();
    expect(output).not.toContain('ada@example.com');
    expect(output).toContain('lives at');
    await scan('privacy-playground');
  });

  it('creates a prompt, saves a second version and diffs the two', async () => {
    await visit('prompts', 'Prompts', 'prompts');
    await page.getByLabel('Prompt name').fill('summarize');
    await page.getByLabel('Template').fill('Summarize for {{audience}}:\n{{text}}');
    await page.getByRole('button', { name: 'Create prompt' }).click();
    await page.getByRole('heading', { level: 1, name: 'Prompt summarize' }).waitFor();
    await page.getByLabel('Template', { exact: true }).fill('Summarize briefly for {{audience}}:\n{{text}}');
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.getByRole('heading', { name: 'Template (version 2)' }).waitFor();
    await page.getByLabel('From version').selectOption('1');
    await page.getByLabel('To version').selectOption('2');
    await page.getByRole('button', { name: 'Show diff' }).click();
    const diff = page.getByTestId('prompt-diff');
    await diff.waitFor();
    expect(await diff.locator('div').allTextContents()).toEqual([
      '- Summarize for {{audience}}:',
      '+ Summarize briefly for {{audience}}:',
      '  {{text}}',
    ]);
    await scan('prompt-diff');
  });

  it('creates an API key and shows its secret once', async () => {
    await visit('keys', 'API keys', 'api-keys');
    await page.getByLabel('Key name').fill('ci');
    await page.getByLabel('Scopes').fill('datasets:read');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key').textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(20);
    // The secret works, and is not shown again.
    expect((await new Loam({ baseURL: origin, apiKey: secret }).whoami()).scopes).toEqual(['datasets:read']);
    await page.getByRole('button', { name: 'I have copied it' }).click();
    await page.reload();
    await page.getByRole('cell', { name: 'ci', exact: true }).waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  it('reads the audit log and verifies its chain', async () => {
    await visit('audit', 'Audit log', 'audit');
    expect(await page.getByRole('table', { name: 'Audit entries' }).locator('tbody tr').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Verify chain' }).click();
    expect(await page.getByTestId('audit-verify').textContent()).toMatch(/^Chain valid: \d+ entries checked/);
    await page.getByLabel('Action').fill('apikey.*');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.getByRole('cell', { name: 'apikey.created' }).first().waitFor();
    await scan('audit-verified');
  });

  it('loads every other page without an error or a serious accessibility violation', async () => {
    for (const [path, heading] of [
      ['', 'Overview'],
      ['content', 'Content'],
      ['webhooks', 'Webhooks'],
      ['bus', 'Message bus'],
      ['logs', 'Logs'],
      ['access', 'Users and clients'],
      ['policies', 'Policies'],
      ['tenants', 'Tenants'],
    ])
      await visit(path, heading, path || 'overview');
    // The live tail shows what the steps before did, and then what happens while it is open.
    await page.goto(`${origin}/console/#/events`);
    await page.getByRole('cell', { name: 'io.loam.dataset.created' }).waitFor();
    await new Loam({ baseURL: origin, apiKey: ADMIN_KEY }).datasets.create({ name: 'tailed' });
    await page.getByText('live', { exact: true }).waitFor();
    await expect.poll(() => page.getByRole('cell', { name: 'io.loam.dataset.created' }).count(), { timeout: 15_000 }).toBe(2);
    await scan('events');
  }, 90_000);

  it('follows the dark theme and stays readable at a phone width', async () => {
    // Dark theme (the system setting) and a phone's width stay readable: nothing wider than the screen.
    await page.emulateMedia({ colorScheme: 'dark' });
    await visit('datasets', 'Datasets', 'datasets-dark');
    await page.setViewportSize({ width: 390, height: 844 });
    await visit('audit', 'Audit log', 'audit-phone');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.emulateMedia({ colorScheme: 'light' });
  }, 60_000);

  it('signs out, then signs in with email and password and sees only what the user may', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Loam' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await scan('sign-in');

    const anon = new Loam({ baseURL: origin, apiKey: ADMIN_KEY });
    await anon.auth.signup({ email: 'ada@example.com', password: 'correct horse battery staple' });
    const [mail] = await anon.admin.mailbox.list({ to: 'ada@example.com', limit: 1 });
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1] ?? '';
    await anon.auth.confirm({ username: 'ada@example.com', confirmation_code: code });

    await page.getByRole('tab', { name: 'Email and password' }).click();
    await page.getByLabel('Email').fill('ada@example.com');
    await page.getByLabel('Password').fill('correct horse battery staple');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    const nav = page.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link', { name: 'API keys' }).count()).toBe(0);
    await page.goto(`${origin}/console/#/keys`);
    await page.getByRole('heading', { level: 1, name: 'Not allowed' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain("lacks the scope 'auth:admin'");
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Loam' }).waitFor();
    expect(problems).toEqual([]);
  });
});
