import type { AuditEntry, AuditQuery, AuditVerifyResult } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';

/** The tenant's audit log, newest first, with filters and a "verify chain" button. */
export function Audit({ session }: PageProps) {
  const { loam } = session;
  const [form, setForm] = useState({ action: '', actor: '', decision: '' });
  const [query, setQuery] = useState<AuditQuery>({});
  const [verified, setVerified] = useState<AuditVerifyResult>();
  const entries = useLoad(async () => (await loam.auditLogs.list({ ...query, sort: '-time', limit: 50 })).items, [JSON.stringify(query)]);
  const verify = useAction(async () => setVerified(await loam.auditLogs.verify()));
  const set = (k: keyof typeof form) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [k]: e.currentTarget.value });
  return (
    <Page title="Audit log">
      <Card title="Chain">
        <button type="button" onClick={() => verify.act()} disabled={verify.busy}>
          Verify chain
        </button>
        <ErrorNote error={verify.error} />
        {verified ? (
          <p role="status" data-testid="audit-verify" class={verified.valid ? 'ok' : 'error'}>
            {verified.valid
              ? `Chain valid: ${verified.checked} entries checked${verified.head ? `, head #${verified.head.seq} ${verified.head.hash.slice(0, 16)}…` : ''}`
              : `Chain broken at #${verified.first_broken?.seq} (${verified.first_broken?.reason}) after ${verified.checked} entries`}
          </p>
        ) : null}
      </Card>
      <Card title="Entries">
        <Form
          class="row"
          onSubmit={() =>
            setQuery({
              ...(form.action ? { action: form.action } : {}),
              ...(form.actor ? { actor: form.actor } : {}),
              ...(form.decision ? { decision: form.decision as 'allow' | 'deny' } : {}),
            })
          }
        >
          <Field label="Action" hint="An event type or a family: user.*">
            <input value={form.action} onInput={set('action')} />
          </Field>
          <Field label="Actor">
            <input value={form.actor} onInput={set('actor')} />
          </Field>
          <Field label="Decision">
            <select value={form.decision} onChange={set('decision')}>
              <option value="">any</option>
              <option value="allow">allow</option>
              <option value="deny">deny</option>
            </select>
          </Field>
          <button type="submit">Filter</button>
        </Form>
        <Loading state={entries}>
          {(rows) => (
            <Table<AuditEntry>
              caption="Audit entries"
              rows={rows}
              columns={[
                ['#', (e) => e.seq],
                ['Time', (e) => when(e.time)],
                ['Action', (e) => <code>{e.action}</code>],
                ['Actor', (e) => e.actor ?? '—'],
                ['Resource', (e) => [e.resource_type, e.resource_id].filter(Boolean).join(' ') || '—'],
                ['Decision', (e) => <span class={`tag ${e.decision}`}>{e.decision}</span>],
              ]}
              empty="No entries match."
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}
