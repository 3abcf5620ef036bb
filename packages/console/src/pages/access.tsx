import type { ClientCredential, ClientCredentialWithSecret, User } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, SecretOnce, splitList, useLoad, when } from '../ui.js';

/** Users of the tenant (roles, disable) and OAuth clients (client credentials; the secret is shown once). */
export function Access({ session }: PageProps) {
  const { loam } = session;
  const users = useLoad(async () => (await loam.admin.users.list({ limit: 100 })).items);
  const clients = useLoad(async () => (await loam.credentials.list()).credentials);
  const [issuedTo, setIssuedTo] = useState('');
  const [scopes, setScopes] = useState('');
  const [created, setCreated] = useState<ClientCredentialWithSecret>();
  const createClient = useAction(async () => {
    setCreated(await loam.credentials.create({ issued_to: issuedTo, scopes: splitList(scopes) }));
    setIssuedTo('');
    clients.reload();
  });
  const setActive = useAction(async (c: ClientCredential) => {
    await loam.credentials.update(c.id, { active: !c.active });
    clients.reload();
  });
  const setRoles = useAction(async (u: User, roles: string) => {
    await loam.admin.users.update(u.id, { roles: splitList(roles) });
    users.reload();
  });
  return (
    <Page title="Users and clients">
      <Card title="Users">
        <ErrorNote error={setRoles.error} />
        <Loading state={users}>
          {(rows) => (
            <Table<User>
              caption="Users"
              rows={rows}
              columns={[
                ['Email', (u) => u.email],
                ['Status', (u) => u.status],
                ['Roles', (u) => <RolesEditor user={u} onSave={(r) => setRoles.act(u, r)} />],
                ['Created', (u) => when(u.created_at)],
              ]}
              empty="No users have signed up."
            />
          )}
        </Loading>
      </Card>
      <Card title="New OAuth client">
        <Form class="row" onSubmit={() => createClient.act()}>
          <Field label="Issued to">
            <input required maxLength={200} value={issuedTo} onInput={(e) => setIssuedTo(e.currentTarget.value)} />
          </Field>
          <Field label="Client scopes" hint="Comma-separated">
            <input value={scopes} onInput={(e) => setScopes(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={createClient.busy}>
            Create client
          </button>
        </Form>
        <ErrorNote error={createClient.error} />
        {created ? (
          <SecretOnce
            title={`Copy the secret of ${created.client_id} now.`}
            secret={created.client_secret}
            onDismiss={() => setCreated(undefined)}
          />
        ) : null}
      </Card>
      <Card title="OAuth clients">
        <ErrorNote error={setActive.error} />
        <Loading state={clients}>
          {(rows) => (
            <Table<ClientCredential>
              caption="OAuth clients"
              rows={rows}
              columns={[
                ['Client id', (c) => <code>{c.client_id}</code>],
                ['Issued to', (c) => c.issued_to],
                ['Scopes', (c) => c.scopes.join(', ') || '—'],
                [
                  'Active',
                  (c) => (
                    <button
                      type="button"
                      class="secondary"
                      aria-label={`${c.active ? 'Deactivate' : 'Activate'} ${c.client_id}`}
                      onClick={() => setActive.act(c)}
                    >
                      {c.active ? 'Deactivate' : 'Activate'}
                    </button>
                  ),
                ],
              ]}
              empty="No OAuth clients."
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}

function RolesEditor({ user, onSave }: { user: User; onSave: (roles: string) => void }) {
  const [roles, setRoles] = useState(user.roles.join(', '));
  return (
    <Form class="inline" onSubmit={() => onSave(roles)}>
      <input aria-label={`Roles of ${user.email}`} value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
      <button type="submit" class="secondary" aria-label={`Save roles of ${user.email}`}>
        Save
      </button>
    </Form>
  );
}
