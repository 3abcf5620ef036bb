import type { Webhook, WebhookDelivery } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';

/** Webhook endpoints, their deliveries, and retrying a delivery. */
export function Webhooks({ session }: PageProps) {
  const { loam } = session;
  const hooks = useLoad(async () => (await loam.webhooks.list({ limit: 100 })).items);
  const [url, setUrl] = useState('');
  const [types, setTypes] = useState('');
  const [selected, setSelected] = useState<Webhook>();
  const create = useAction(async () => {
    const events = types
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    setSelected(await loam.webhooks.create({ url, ...(events.length ? { events } : {}) }));
    setUrl('');
    hooks.reload();
  });
  return (
    <Page title="Webhooks">
      <Card title="New endpoint">
        <Form class="row" onSubmit={() => create.act()}>
          <Field label="Endpoint URL">
            <input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
          </Field>
          <Field label="Event types" hint="Comma-separated; empty: every event">
            <input value={types} onInput={(e) => setTypes(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={create.busy}>
            Add endpoint
          </button>
        </Form>
        <ErrorNote error={create.error} />
      </Card>
      <Card title="Endpoints">
        <Loading state={hooks}>
          {(rows) => (
            <Table<Webhook>
              caption="Webhook endpoints"
              rows={rows}
              columns={[
                [
                  'URL',
                  (w) => (
                    <button type="button" class="link" onClick={() => setSelected(w)}>
                      {w.url}
                    </button>
                  ),
                ],
                ['Events', (w) => w.events.join(', ') || 'all'],
                ['Active', (w) => (w.active ? 'yes' : `no${w.disabled_reason ? ` (${w.disabled_reason})` : ''}`)],
                ['Failures in a row', (w) => w.consecutive_failures],
              ]}
              empty="No endpoints."
            />
          )}
        </Loading>
      </Card>
      {selected ? <Deliveries key={selected.id} session={session} webhook={selected} /> : null}
    </Page>
  );
}

function Deliveries({ session, webhook }: { session: PageProps['session']; webhook: Webhook }) {
  const { loam } = session;
  const deliveries = useLoad(async () => (await loam.webhooks.deliveries(webhook.id, { limit: 50 })).items, [webhook.id]);
  const retry = useAction(async (id: string) => {
    await loam.webhooks.retryDelivery(webhook.id, id);
    deliveries.reload();
  });
  const test = useAction(async () => {
    await loam.webhooks.test(webhook.id);
    deliveries.reload();
  });
  return (
    <Card title={`Deliveries to ${webhook.url}`}>
      <button type="button" class="secondary" onClick={() => test.act()}>
        Send a test event
      </button>
      <ErrorNote error={retry.error ?? test.error} />
      <Loading state={deliveries}>
        {(rows) => (
          <Table<WebhookDelivery>
            caption="Deliveries"
            rows={rows}
            columns={[
              ['Event', (d) => d.event_type],
              ['Kind', (d) => d.kind],
              ['Status', (d) => <span class={`tag ${d.status}`}>{d.status}</span>],
              ['Attempts', (d) => d.attempts.length],
              ['Created', (d) => when(d.created_at)],
              [
                'Retry',
                (d) =>
                  d.status === 'failed' ? (
                    <button type="button" class="secondary" onClick={() => retry.act(d.id)}>
                      Retry
                    </button>
                  ) : (
                    '—'
                  ),
              ],
            ]}
            empty="No deliveries yet."
          />
        )}
      </Loading>
    </Card>
  );
}
