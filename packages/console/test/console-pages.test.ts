/**
 * The console's knowledge, live-status and editing pages in Chromium, end to end against a live
 * Loam (see browser.ts): each one is created, seen, changed and seen changed.
 */
import { type Server, createServer } from 'node:http';
import { Loam } from '@loam/sdk';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, type ConsoleRun, HAS_CHROMIUM, requireChromium, startConsole } from './browser.js';

requireChromium('the console pages in Chromium');

const GUIDE = `# Lighthouse keeping

When fog rolls in, the keeper sounds the foghorn every thirty seconds until the fog lifts.

The lamp is lit at sunset and put out at sunrise; its lens is cleaned every morning.
`;

/** `YYYY-MM-DDTHH:mm` in local time, what a datetime-local input takes. */
const localInput = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

describe.skipIf(!HAS_CHROMIUM)('the console pages in Chromium', () => {
  let run: ConsoleRun;
  let page: Page;
  let admin: Loam;
  let receiver: Server;
  let received = 0;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      received++;
      req.resume();
      req.on('end', () => res.writeHead(200).end('ok'));
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    run = await startConsole({ LOAM_WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' });
    page = run.page;
    admin = new Loam({ baseURL: run.origin, apiKey: ADMIN_KEY });
    await run.signIn();
  }, 60_000);

  afterAll(async () => {
    await run?.close();
    await new Promise((r) => receiver?.close(r));
  });

  const rows = (table: string) => page.getByRole('table', { name: table }).locator('tbody tr');

  it('creates a collection, follows a document until indexed, edits the collection', async () => {
    await run.visit('knowledge', 'Knowledge', 'knowledge-empty');
    await page.getByLabel('Collection name').fill('handbook');
    await page.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('heading', { level: 1, name: 'Collection handbook' }).waitFor();
    await page.getByLabel(/Drop a document/).setInputFiles({ name: 'guide.md', mimeType: 'text/markdown', buffer: Buffer.from(GUIDE) });
    // No reload: the list follows the document through the pipeline by itself.
    await page.getByRole('table', { name: 'Documents' }).getByText('indexed', { exact: true }).waitFor({ timeout: 30_000 });
    expect(await rows('Documents').allTextContents()).toEqual([expect.stringMatching(/^guide\.md.*indexed[1-9]/)]);

    await page.getByLabel('Description').fill('How the light is kept');
    await page.getByLabel('Chunk tokens').fill('128');
    await page.getByRole('button', { name: 'Save collection' }).click();
    await page.getByTestId('collection-summary').filter({ hasText: '128-token chunks' }).waitFor();
    expect(await page.getByTestId('collection-summary').textContent()).toContain('How the light is kept');
    expect((await admin.collections.list()).map((c) => [c.name, c.description, c.chunking.chunk_tokens])).toEqual([
      ['handbook', 'How the light is kept', 128],
    ]);
    await run.scan('knowledge-documents');
  }, 60_000);

  it('streams an answer in the query playground with its citations', async () => {
    await page.getByLabel('Question').fill('How often is the foghorn sounded?');
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    await page.getByTestId('query-state').filter({ hasText: 'answer complete' }).waitFor({ timeout: 20_000 });
    expect(await page.getByTestId('query-answer').textContent()).toContain('thirty seconds');
    const citations = page.getByTestId('query-citations').locator('li');
    expect(await citations.count()).toBeGreaterThan(0);
    expect(await citations.first().textContent()).toMatch(/^guide\.md score \d\.\d{4}.*foghorn/s);
    await run.scan('knowledge-query');
  });

  it('lists collections, then deletes one', async () => {
    await run.visit('knowledge', 'Knowledge', 'knowledge');
    expect(await rows('Collections').allTextContents()).toEqual([expect.stringMatching(/^handbookHow the light is kept1128 tokens/)]);
    await page.getByRole('link', { name: 'handbook' }).click();
    await page.getByRole('button', { name: 'Delete collection' }).click();
    await page.getByRole('button', { name: 'Delete it and its documents' }).click();
    await page.getByRole('heading', { level: 1, name: 'Knowledge' }).waitFor();
    await page.getByText('No collections yet.').waitFor();
    expect(await admin.collections.list()).toEqual([]);
  });

  it('follows content items until they are final, whoever ingested them', async () => {
    await run.visit('content', 'Content', 'content-watch');
    await admin.content.ingestText({ content: 'A note ingested by another client while the console watches.' });
    const completed = page.getByRole('table', { name: 'Content items' }).getByText('COMPLETED', { exact: true });
    await expect.poll(() => completed.count(), { timeout: 30_000 }).toBe(1);
    await page.getByLabel(/Drop a document/).setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(GUIDE) });
    await expect.poll(() => completed.count(), { timeout: 30_000 }).toBe(2);
    await run.scan('content-live');
  }, 60_000);

  it('deletes a record, archives and restores a dataset, sets its privacy budget', async () => {
    const ds = await admin.datasets.create({ name: 'visits' });
    await admin.records.insertMany(ds.id, [
      { id: 'v1', data: { city: 'Oslo' } },
      { id: 'v2', data: { city: 'Lima' } },
    ]);
    await run.visit(`datasets/${ds.id}`, 'Dataset visits', 'dataset-detail');
    await page.getByRole('table', { name: 'Records' }).waitFor();
    await page.getByRole('button', { name: 'v1', exact: true }).click();
    await page.getByRole('button', { name: 'Delete record' }).click();
    await page.getByRole('button', { name: 'Delete v1 from the draft' }).click();
    await expect.poll(() => rows('Records').allTextContents()).toEqual(['v2Lima']);
    await expect(admin.records.get(ds.id, 'v1')).rejects.toMatchObject({ status: 404 });

    await page.getByRole('button', { name: 'Archive dataset' }).click();
    await page.getByTestId('dataset-status').filter({ hasText: 'archived' }).waitFor();
    expect((await admin.datasets.get(ds.id)).status).toBe('archived');
    // Read-only while archived: the write controls are gone.
    await page.getByRole('button', { name: 'v2', exact: true }).click();
    expect(await page.getByRole('button', { name: 'Save record' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Restore dataset' }).click();
    await page.getByTestId('dataset-status').filter({ hasText: 'active' }).waitFor();
    expect((await admin.datasets.get(ds.id)).status).toBe('active');

    await page.getByRole('tab', { name: 'Privacy budget' }).click();
    await page.getByTestId('budget-summary').filter({ hasText: 'ε 1 of 1 remaining (0 spent)' }).waitFor();
    await page.getByLabel('Total ε').fill('2.5');
    await page.getByRole('button', { name: 'Set budget' }).click();
    await page.getByTestId('budget-summary').filter({ hasText: 'ε 2.5 of 2.5 remaining' }).waitFor();
    expect((await admin.anonymization.budget(ds.id)).epsilon_total).toBe(2.5);
    await run.scan('dataset-budget');
  }, 60_000);

  it('edits a webhook, redelivers a delivery and replays a time range', async () => {
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
    await run.visit('webhooks', 'Webhooks', 'webhooks-new');
    await page.getByLabel('Endpoint URL').first().fill(url);
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    await page.getByRole('heading', { name: `Deliveries to ${url}` }).waitFor();
    await page.getByRole('button', { name: 'Send a test event' }).click();
    const deliveries = page.getByRole('table', { name: 'Deliveries' });
    await deliveries.getByText('succeeded', { exact: true }).waitFor({ timeout: 20_000 });
    const before = received;
    await page.getByRole('button', { name: /^Redeliver .*webhook\.test$/ }).click();
    await expect.poll(() => rows('Deliveries').first().textContent(), { timeout: 20_000 }).toMatch(/succeeded2/);
    expect(received).toBe(before + 1);

    await page.getByLabel('Event types').last().fill('dataset.*');
    await page.getByLabel('Description').last().fill('CRM sync');
    await page.getByRole('button', { name: 'Save endpoint' }).click();
    await page.getByRole('cell', { name: 'dataset.*' }).waitFor();
    expect((await admin.webhooks.list()).items.map((w) => [w.events, w.description])).toEqual([[['dataset.*'], 'CRM sync']]);

    await page.getByLabel('Replay events since').fill(localInput(new Date(Date.now() - 3_600_000)));
    await page.getByRole('button', { name: 'Replay' }).click();
    // The dataset steps before created, archived and restored one: each matching event is sent again.
    await page
      .getByTestId('replay-result')
      .filter({ hasText: /^[1-9]\d* events sent again/ })
      .waitFor();
    await expect.poll(() => deliveries.getByText('dataset.created').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await run.scan('webhook-edit');
  }, 60_000);

  it('tails log records live, with a level filter', async () => {
    await run.visit('logs', 'Logs', 'logs-open');
    await page.getByTestId('logs-live').filter({ hasText: 'live' }).waitFor();
    await admin.logs.ship([{ level: 'info', message: 'lamp lit at sunset' }], { executionId: 'watch-1' });
    await page.getByRole('cell', { name: 'lamp lit at sunset' }).waitFor({ timeout: 15_000 });
    await page.getByLabel('Level or worse').selectOption('error');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('Waiting for log records…').waitFor();
    await page.getByTestId('logs-live').filter({ hasText: 'live' }).waitFor();
    await admin.logs.ship(
      [
        { level: 'warn', message: 'fog thickening' },
        { level: 'error', message: 'foghorn silent' },
      ],
      { executionId: 'watch-1' },
    );
    await page.getByRole('cell', { name: 'foghorn silent' }).waitFor({ timeout: 15_000 });
    expect(await rows('Tailed log records').allTextContents()).toEqual([expect.stringContaining('foghorn silent')]);
    await run.scan('logs-tail');
  }, 60_000);

  it("edits a Cedar policy, showing the server's validation error inline", async () => {
    await run.visit('policies', 'Policies', 'policies-new');
    await page.getByLabel('Policy name').fill('no-restricted-writes');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('cell', { name: 'no-restricted-writes', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Edit policy no-restricted-writes' }).click();
    await page.getByRole('heading', { name: 'Edit policy no-restricted-writes (version 1)' }).waitFor();
    const editor = page.getByLabel('Cedar policy');
    await editor.fill('forbid (principal, action, resource) when { resource.no_such_attribute == "x" };');
    await page.getByRole('button', { name: 'Save changes' }).click();
    const error = page.getByTestId('policy-error');
    await error.waitFor();
    expect(await error.textContent()).toMatch(/no_such_attribute/);
    expect(await editor.getAttribute('aria-invalid')).toBe('true');
    // The browser reports the refused save (400) on its console: that one, and nothing else.
    expect(run.problems.splice(0)).toEqual([expect.stringContaining('status of 400 (Bad Request)')]);
    await run.scan('policy-invalid');
    const fixed = 'forbid (principal, action == Loam::Action::"write", resource)\nwhen { resource.classification == "secret" };';
    await editor.fill(fixed);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'New policy' }).waitFor();
    expect(await rows('Policies').allTextContents()).toEqual([expect.stringContaining('"secret" };2')]);
    expect((await admin.policies.list()).items.map((p) => [p.policy, p.version])).toEqual([[fixed, 2]]);
    // A lone forbid turns on Cedar's default deny for the tenant: remove it before the next steps.
    await page.getByRole('button', { name: 'Delete policy no-restricted-writes' }).click();
    await page.getByText('No policies: roles and scopes alone decide.').waitFor();
  }, 60_000);

  it('hides write controls and refuses pages a read-only key may not use', async () => {
    const key = await admin.apiKeys.create({ name: 'reader', scopes: ['knowledge:read', 'datasets:read', 'policies:read', 'ingest:read'] });
    await admin.collections.create({ name: 'manual' });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill(key.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    // A navigation group none of whose pages the key may see is left out, heading and all.
    expect(await page.getByRole('navigation', { name: 'Console' }).getByRole('heading').allTextContents()).toEqual(['Data', 'Security']);
    await run.visit('knowledge', 'Knowledge', 'knowledge-reader');
    expect(await page.getByRole('button', { name: 'Create collection' }).count()).toBe(0);
    await page.getByRole('link', { name: 'manual' }).click();
    await page.getByRole('heading', { level: 1, name: 'Collection manual' }).waitFor();
    expect(await page.getByRole('button', { name: /Delete|Save collection/ }).count()).toBe(0);
    expect(await page.getByLabel(/Drop a document/).count()).toBe(0);
    await page.getByRole('button', { name: 'Ask', exact: true }).waitFor();
    // Readable at a phone's width: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await run.scan('knowledge-phone');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${run.origin}/console/#/datasets`);
    await page.getByRole('link', { name: 'visits' }).click();
    await page.getByRole('heading', { level: 1, name: 'Dataset visits' }).waitFor();
    await page.getByRole('button', { name: 'v2', exact: true }).click();
    await page.getByRole('heading', { name: 'Record v2' }).waitFor();
    expect(await page.getByRole('button', { name: /Archive|Save record|Delete record/ }).count()).toBe(0);
    // Reading a budget needs anonymization:use, which this key lacks: no tab that would only fail.
    expect(await page.getByRole('tab', { name: 'Privacy budget' }).count()).toBe(0);
    await run.visit('policies', 'Policies', 'policies-reader');
    expect(await page.getByRole('button', { name: /Edit policy|Save policy/ }).count()).toBe(0);
    for (const path of ['webhooks', 'logs']) {
      await page.goto(`${run.origin}/console/#/${path}`);
      await page.getByRole('heading', { level: 1, name: 'Not allowed' }).waitFor();
    }
    expect(run.problems).toEqual([]);
  }, 60_000);
});
