import type { BusMessage, Session as BusSession } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Field, Form, json, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';

/** The message bus: sessions, a session's messages, and sending one. */
export function Bus({ session }: PageProps) {
  const { loam, whoami } = session;
  const [prefix, setPrefix] = useState('');
  const sessions = useLoad(() => loam.sessions.list({ limit: 100, ...(prefix ? { prefix } : {}) }), [prefix]);
  const [open, setOpen] = useState<string>();
  return (
    <Page title="Message bus">
      <Card title="Sessions">
        <Field label="Session id prefix">
          <input value={prefix} onInput={(e) => setPrefix(e.currentTarget.value)} />
        </Field>
        <Loading state={sessions}>
          {(rows) => (
            <Table<BusSession>
              caption="Sessions"
              rows={rows}
              columns={[
                [
                  'Session',
                  (s) => (
                    <button type="button" class="link" onClick={() => setOpen(s.id)}>
                      {s.id}
                    </button>
                  ),
                ],
                ['Messages', (s) => s.head - s.purged_through],
                ['Last activity', (s) => when(s.last_activity_at)],
              ]}
              empty="No sessions."
            />
          )}
        </Loading>
      </Card>
      {open ? <SessionView key={open} session={session} id={open} canWrite={hasScope(whoami, 'bus:write')} /> : null}
    </Page>
  );
}

function SessionView({ session, id, canWrite }: { session: PageProps['session']; id: string; canWrite: boolean }) {
  const { loam } = session;
  const messages = useLoad(() => loam.sessions.messages(id, { limit: 100 }), [id]);
  const [text, setText] = useState('');
  const send = useAction(async () => {
    let data: unknown = text;
    try {
      data = JSON.parse(text);
    } catch {
      // plain text is sent as a string
    }
    await loam.sessions.send(id, { data });
    setText('');
    messages.reload();
  });
  return (
    <Card title={`Session ${id}`}>
      <Loading state={messages}>
        {(rows) => (
          <Table<BusMessage>
            caption="Messages"
            rows={rows}
            columns={[
              ['#', (m) => m.position],
              ['Time', (m) => when(m.time)],
              ['Type', (m) => m.type ?? '—'],
              ['Data', (m) => <code>{json(m.data)}</code>],
            ]}
            empty="No messages."
          />
        )}
      </Loading>
      {canWrite ? (
        <Form class="row" onSubmit={() => send.act()}>
          <Field label="Message (JSON or text)">
            <input required value={text} onInput={(e) => setText(e.currentTarget.value)} />
          </Field>
          <button type="submit">Send</button>
        </Form>
      ) : null}
      <ErrorNote error={send.error} />
    </Card>
  );
}
