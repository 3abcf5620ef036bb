import type { Execution, Loam, LogRecord } from '@loam/sdk';
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, errorText, json, useLoad, when } from '../ui.js';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
const KEEP = 200;

const recordColumns: [string, (r: LogRecord) => ComponentChildren][] = [
  ['Time', (r) => when(r.time)],
  ['Level', (r) => <span class={`tag level-${r.level}`}>{r.level}</span>],
  ['Message', (r) => r.message],
  ['Attributes', (r) => <code>{json(r.attributes)}</code>],
];

/** The observatory: a live tail, executions, and the log records of one. */
export function Logs({ session }: PageProps) {
  const { loam } = session;
  const executions = useLoad(async () => (await loam.logs.executions({ limit: 50 })).items);
  const [open, setOpen] = useState<string>();
  const records = useLoad(async () => (open ? (await loam.logs.list({ execution_id: open, limit: 200 })).items : []), [open]);
  return (
    <Page title="Logs">
      <LiveTail loam={loam} />
      <Card title="Executions">
        <Loading state={executions}>
          {(rows) => (
            <Table<Execution>
              caption="Executions"
              rows={rows}
              columns={[
                [
                  'Execution',
                  (x) => (
                    <button type="button" class="link" onClick={() => setOpen(x.execution_id)}>
                      {x.execution_id}
                    </button>
                  ),
                ],
                ['Status', (x) => <span class={`tag ${x.status === 'ok' ? 'ok' : 'error'}`}>{x.status}</span>],
                ['Records', (x) => x.records],
                ['Last record', (x) => when(x.last_time)],
              ]}
              empty="No executions logged yet."
            />
          )}
        </Loading>
      </Card>
      {open ? (
        <Card title={`Records of ${open}`}>
          <Loading state={records}>{(rows) => <Table<LogRecord> caption="Log records" rows={rows} columns={recordColumns} />}</Loading>
        </Card>
      ) : null}
    </Page>
  );
}

/** Records as they are stored (`GET /api/v1/logs/stream`), newest first, filtered by level and words. */
function LiveTail({ loam }: { loam: Loam }) {
  const [level, setLevel] = useState('');
  const [words, setWords] = useState('');
  const [applied, setApplied] = useState<{ level?: LogRecord['level']; q?: string }>({});
  const [records, setRecords] = useState<LogRecord[]>([]);
  const [live, setLive] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    const abort = new AbortController();
    setRecords([]);
    setError(undefined);
    loam.logs
      .tail({
        ...applied,
        signal: abort.signal,
        onStarted: () => setLive(true),
        onReconnect: () => setLive(false),
        onRecord: (r) => setRecords((list) => [r, ...list].slice(0, KEEP)),
      })
      .catch((err) => setError(errorText(err)))
      .finally(() => setLive(false));
    return () => abort.abort();
  }, [applied]);
  return (
    <Card title="Live tail">
      <Form
        class="row"
        onSubmit={() =>
          setApplied({ ...(level ? { level: level as LogRecord['level'] } : {}), ...(words.trim() ? { q: words.trim() } : {}) })
        }
      >
        <Field label="Level or worse">
          <select value={level} onChange={(e) => setLevel(e.currentTarget.value)}>
            <option value="">any</option>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Message words">
          <input value={words} onInput={(e) => setWords(e.currentTarget.value)} />
        </Field>
        <button type="submit">Apply</button>
        <span class={`tag ${live ? 'ok' : ''}`} aria-live="polite" data-testid="logs-live">
          {live ? 'live' : 'not connected'}
        </span>
      </Form>
      <ErrorNote error={error} />
      <Table<LogRecord> caption="Tailed log records" rows={records} columns={recordColumns} empty="Waiting for log records…" />
    </Card>
  );
}
