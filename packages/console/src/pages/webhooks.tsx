import type { Loam, Webhook, WebhookDelivery } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, splitList, useAction, useLoad, usePoll, when } from '../ui.js';

/** Webhook endpoints: create, edit, their deliveries, retrying or redelivering one, replaying a time range. */
export function Webhooks({ session }: PageProps) {
  const { loam } = session;
  const hooks = useLoad(async () => (await loam.webhooks.list({ limit: 100 })).items);
  const [selected, setSelected] = useState<Webhook>();
  const saved = (w: Webhook) => {
    setSelected(w);
    hooks.reload();
  };
  return (
    <Page title="Webhooks">
      <WebhookEditor key="new" loam={loam} onSaved={saved} />
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
      {selected ? (
        <>
          <WebhookEditor key={`edit-${selected.id}`} loam={loam} webhook={selected} onSaved={saved} />
          <Deliveries key={selected.id} loam={loam} webhook={selected} />
        </>
      ) : null}
    </Page>
  );
}

/** A new endpoint, or an existing one (`webhook`): its URL, event types, description and (once created) whether it is active. */
function WebhookEditor({ loam, webhook, onSaved }: { loam: Loam; webhook?: Webhook; onSaved: (w: Webhook) => void }) {
  const [url, setUrl] = useState(webhook?.url ?? '');
  const [types, setTypes] = useState(webhook?.events.join(', ') ?? '');
  const [description, setDescription] = useState(webhook?.description ?? '');
  const [active, setActive] = useState(webhook?.active ?? true);
  const [note, setNote] = useState<string>();
  const save = useAction(async () => {
    const events = splitList(types);
    if (!webhook) {
      onSaved(await loam.webhooks.create({ url, description, ...(events.length ? { events } : {}) }));
      setUrl('');
      setTypes('');
      setDescription('');
      return;
    }
    const saved = await loam.webhooks.update(webhook.id, { url, events, description, active });
    setNote(`Saved ${new Date(saved.updated_at).toLocaleTimeString()}`);
    onSaved(saved);
  });
  return (
    <Card title={webhook ? `Edit ${webhook.url}` : 'New endpoint'}>
      <Form class="row" onSubmit={() => save.act()}>
        <Field label="Endpoint URL">
          <input type="url" required value={url} onInput={(e) => setUrl(e.currentTarget.value)} />
        </Field>
        <Field label="Event types" hint="Comma-separated; empty: every event">
          <input value={types} onInput={(e) => setTypes(e.currentTarget.value)} />
        </Field>
        <Field label="Description">
          <input value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        {webhook ? (
          <label class="check">
            <input type="checkbox" checked={active} onChange={(e) => setActive(e.currentTarget.checked)} />
            Active (re-enabling resets the failure count)
          </label>
        ) : null}
        <button type="submit" disabled={save.busy}>
          {webhook ? 'Save endpoint' : 'Add endpoint'}
        </button>
        <span aria-live="polite">{note}</span>
      </Form>
      <ErrorNote error={save.error} />
    </Card>
  );
}

function Deliveries({ loam, webhook }: { loam: Loam; webhook: Webhook }) {
  const deliveries = useLoad(async () => (await loam.webhooks.deliveries(webhook.id, { limit: 50 })).items, [webhook.id]);
  // A delivery stays pending through its attempts: the list follows it until it succeeds or fails.
  usePoll(deliveries, (deliveries.data ?? []).some((d) => d.status === 'pending') ? 1000 : 5000);
  const retry = useAction(async (id: string) => {
    await loam.webhooks.retryDelivery(webhook.id, id);
    deliveries.reload();
  });
  const test = useAction(async () => {
    await loam.webhooks.test(webhook.id);
    deliveries.reload();
  });
  const [since, setSince] = useState('');
  const [replayed, setReplayed] = useState<string>();
  const replay = useAction(async () => {
    const r = await loam.webhooks.replay(webhook.id, { since: new Date(since).toISOString() });
    setReplayed(`${r.enqueued} events sent again${r.truncated ? ' (the limit of one replay: more remain)' : ''}`);
    deliveries.reload();
  });
  return (
    <Card title={`Deliveries to ${webhook.url}`}>
      <Form class="row" onSubmit={() => replay.act()}>
        <button type="button" class="secondary" onClick={() => test.act()}>
          Send a test event
        </button>
        <Field label="Replay events since">
          <input type="datetime-local" required value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="secondary" disabled={replay.busy}>
          Replay
        </button>
        <span aria-live="polite" data-testid="replay-result">
          {replayed}
        </span>
      </Form>
      <ErrorNote error={retry.error ?? test.error ?? replay.error} />
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
                'Send again',
                // One more attempt now: a failed delivery is retried, a succeeded one redelivered (not while pending).
                (d) =>
                  d.status === 'pending' ? (
                    '—'
                  ) : (
                    <button
                      type="button"
                      class="secondary"
                      aria-label={`${d.status === 'failed' ? 'Retry' : 'Redeliver'} ${d.event_type}`}
                      onClick={() => retry.act(d.id)}
                    >
                      {d.status === 'failed' ? 'Retry' : 'Redeliver'}
                    </button>
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
