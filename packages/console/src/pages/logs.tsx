import type { Execution, LogRecord } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, Loading, Page, Table, json, useLoad, when } from '../ui.js';

/** The observatory: executions, and the log records of one. */
export function Logs({ session }: PageProps) {
  const { loam } = session;
  const executions = useLoad(async () => (await loam.logs.executions({ limit: 50 })).items);
  const [open, setOpen] = useState<string>();
  const records = useLoad(async () => (open ? (await loam.logs.list({ execution_id: open, limit: 200 })).items : []), [open]);
  return (
    <Page title="Logs">
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
          <Loading state={records}>
            {(rows) => (
              <Table<LogRecord>
                caption="Log records"
                rows={rows}
                columns={[
                  ['Time', (r) => when(r.time)],
                  ['Level', (r) => <span class={`tag level-${r.level}`}>{r.level}</span>],
                  ['Message', (r) => r.message],
                  ['Attributes', (r) => <code>{json(r.attributes)}</code>],
                ]}
              />
            )}
          </Loading>
        </Card>
      ) : null}
    </Page>
  );
}
