import type { Loam, Policy } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';

// Valid against the Cedar schema (actions are read, write, delete, admin…; `GET /api/v1/admin/policies/schema`).
const EXAMPLE = 'forbid (principal, action == Loam::Action::"write", resource)\nwhen { resource.classification == "restricted" };';

/** Cedar policies of the tenant: create and edit, with the server's validation errors beside the editor. */
export function Policies({ session }: PageProps) {
  const { loam, whoami } = session;
  const policies = useLoad(async () => (await loam.policies.list({ limit: 100 })).items);
  const [editing, setEditing] = useState<Policy>();
  const remove = useAction(async (id: string) => {
    await loam.policies.delete(id);
    if (editing?.id === id) setEditing(undefined);
    policies.reload();
  });
  const canWrite = hasScope(whoami, 'policies:write');
  const saved = () => {
    setEditing(undefined);
    policies.reload();
  };
  return (
    <Page title="Policies">
      {canWrite ? (
        <PolicyEditor key={editing?.id ?? 'new'} loam={loam} policy={editing} onSaved={saved} onCancel={() => setEditing(undefined)} />
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
                  'Change',
                  (p) =>
                    canWrite ? (
                      <div class="row">
                        <button type="button" class="secondary" aria-label={`Edit policy ${p.name}`} onClick={() => setEditing(p)}>
                          Edit
                        </button>
                        <button type="button" class="danger" aria-label={`Delete policy ${p.name}`} onClick={() => remove.act(p.id)}>
                          Delete
                        </button>
                      </div>
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

/** A new policy, or an existing one (`policy`): saving sends it to the server, which validates it against the Cedar schema. */
function PolicyEditor({ loam, policy, onSaved, onCancel }: { loam: Loam; policy?: Policy; onSaved: () => void; onCancel: () => void }) {
  const [name, setName] = useState(policy?.name ?? '');
  const [description, setDescription] = useState(policy?.description ?? '');
  const [text, setText] = useState(policy?.policy ?? EXAMPLE);
  const save = useAction(async () => {
    const body = { name, description, policy: text };
    await (policy ? loam.policies.update(policy.id, body) : loam.policies.create(body));
    onSaved();
  });
  return (
    <Card title={policy ? `Edit policy ${policy.name} (version ${policy.version})` : 'New policy'}>
      <Form onSubmit={() => save.act()}>
        <Field label="Policy name">
          <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        </Field>
        <Field label="Description">
          <input maxLength={2000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        </Field>
        <Field label="Cedar policy">
          <textarea
            rows={5}
            class="code"
            required
            value={text}
            aria-invalid={save.error ? true : undefined}
            aria-describedby={save.error ? 'policy-error' : undefined}
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </Field>
        {save.error ? (
          <p class="error" role="alert" id="policy-error" data-testid="policy-error">
            {save.error}
          </p>
        ) : null}
        <div class="row">
          <button type="submit" disabled={save.busy}>
            {policy ? 'Save changes' : 'Save policy'}
          </button>
          {policy ? (
            <button type="button" class="secondary" onClick={onCancel}>
              Cancel
            </button>
          ) : null}
        </div>
      </Form>
    </Card>
  );
}
