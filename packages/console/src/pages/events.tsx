import type { CloudEventJson } from '@loam/sdk';
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, errorText, Field, Form, Page, Table, when } from '../ui.js';

const KEEP = 200;

/** A live tail of the tenant's events (the resuming SSE stream), newest first. */
export function Events({ session }: PageProps) {
  const { loam } = session;
  const [type, setType] = useState('');
  const [applied, setApplied] = useState('');
  const [events, setEvents] = useState<CloudEventJson[]>([]);
  const [error, setError] = useState<string>();
  const [live, setLive] = useState(false);
  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    setError(undefined);
    (async () => {
      try {
        // The stream starts with the last hour's events, then follows new ones.
        const since = new Date(Date.now() - 3_600_000).toISOString();
        setLive(true);
        for await (const e of loam.events.stream({ signal: abort.signal, since, ...(applied ? { type: applied } : {}) }))
          setEvents((list) => [e, ...list].slice(0, KEEP));
      } catch (err) {
        if (!abort.signal.aborted) setError(errorText(err));
      } finally {
        setLive(false);
      }
    })();
    return () => abort.abort();
  }, [applied]);
  return (
    <Page title="Events">
      <Card title="Live tail">
        <Form class="row" onSubmit={() => setApplied(type.trim())}>
          <Field label="Event types" hint="Comma-separated; * matches: dataset.*">
            <input value={type} onInput={(e) => setType(e.currentTarget.value)} />
          </Field>
          <button type="submit">Apply</button>
          <span class={`tag ${live ? 'ok' : ''}`} aria-live="polite">
            {live ? 'live' : 'not connected'}
          </span>
        </Form>
        <ErrorNote error={error} />
        <Table<CloudEventJson>
          caption="Events"
          rows={events}
          columns={[
            ['Time', (e) => when(e.time)],
            ['Type', (e) => <code>{e.type}</code>],
            ['Subject', (e) => e.subject ?? '—'],
            ['Id', (e) => e.id],
          ]}
          empty="Waiting for events…"
        />
      </Card>
    </Page>
  );
}
