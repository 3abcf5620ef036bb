import type { Policy } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';

const EXAMPLE = 'forbid (principal, action == Loam::Action::"datasets:write", resource)\nwhen { resource.classification == "restricted" };';

/** Cedar policies of the tenant; the server's validation errors are shown beside the editor. */
export function Policies({ session }: PageProps) {
  const { loam, whoami } = session;
  const policies = useLoad(async () => (await loam.policies.list({ limit: 100 })).items);
  const [name, setName] = useState('');
  const [text, setText] = useState(EXAMPLE);
  const create = useAction(async () => {
    await loam.policies.create({ name, policy: text });
    setName('');
    policies.reload();
  });
  const remove = useAction(async (id: string) => {
    await loam.policies.delete(id);
    policies.reload();
  });
  const canWrite = hasScope(whoami, 'policies:write');
  return (
    <Page title="Policies">
      {canWrite ? (
        <Card title="New policy">
          <Form onSubmit={() => create.act()}>
            <Field label="Policy name">
              <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <Field label="Cedar policy">
              <textarea
                rows={5}
                class="code"
                required
                value={text}
                aria-invalid={create.error ? true : undefined}
                onInput={(e) => setText(e.currentTarget.value)}
              />
            </Field>
            <ErrorNote error={create.error} />
            <button type="submit" disabled={create.busy}>
              Save policy
            </button>
          </Form>
        </Card>
      ) : null}
      <Card title="Policies">
        <ErrorNote error={remove.error} />
        <Loading state={policies}>
          {(rows) => (
            <Table<Policy>
              caption="Policies"
              rows={rows}
              columns={[
                ['Name', (p) => p.name],
                ['Effect', (p) => <span class={`tag ${p.effect === 'forbid' ? 'deny' : 'allow'}`}>{p.effect}</span>],
                ['Policy', (p) => <pre class="code">{p.policy}</pre>],
                ['Version', (p) => p.version],
                ['Updated', (p) => when(p.updated_at)],
                [
                  'Delete',
                  (p) =>
                    canWrite ? (
                      <button type="button" class="danger" aria-label={`Delete policy ${p.name}`} onClick={() => remove.act(p.id)}>
                        Delete
                      </button>
                    ) : (
                      '—'
                    ),
                ],
              ]}
              empty="No policies: roles and scopes alone decide."
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}
