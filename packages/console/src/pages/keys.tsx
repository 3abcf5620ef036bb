import type { ApiKey, ApiKeyWithSecret } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, SecretOnce, splitList, useLoad, when } from '../ui.js';

/** API keys of the tenant: create (the secret is shown once, here), list, revoke. */
export function Keys({ session }: PageProps) {
  const { loam } = session;
  const keys = useLoad(async () => (await loam.apiKeys.list({ limit: 100 })).items);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState('');
  const [roles, setRoles] = useState('');
  const [created, setCreated] = useState<ApiKeyWithSecret>();
  const create = useAction(async () => {
    setCreated(await loam.apiKeys.create({ name, scopes: splitList(scopes), ...(roles.trim() ? { roles: splitList(roles) } : {}) }));
    setName('');
    keys.reload();
  });
  const revoke = useAction(async (id: string) => {
    await loam.apiKeys.revoke(id);
    keys.reload();
  });
  return (
    <Page title="API keys">
      <Card title="New API key">
        <Form class="grid" onSubmit={() => create.act()}>
          <Field label="Key name">
            <input required maxLength={200} value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <Field label="Scopes" hint="Comma-separated, e.g. datasets:read, ingest:write">
            <input value={scopes} onInput={(e) => setScopes(e.currentTarget.value)} />
          </Field>
          <Field label="Roles" hint="Optional: admin, data_engineer, data_scientist, auditor">
            <input value={roles} onInput={(e) => setRoles(e.currentTarget.value)} />
          </Field>
          <div>
            <button type="submit" disabled={create.busy}>
              Create key
            </button>
          </div>
        </Form>
        <ErrorNote error={create.error} />
        {created ? (
          <SecretOnce
            title={`Copy the key ${created.name} now.`}
            secret={created.key}
            testId="new-key"
            onDismiss={() => setCreated(undefined)}
          />
        ) : null}
      </Card>
      <Card title="Keys">
        <ErrorNote error={revoke.error} />
        <Loading state={keys}>
          {(rows) => (
            <Table<ApiKey>
              caption="API keys"
              rows={rows}
              columns={[
                ['Name', (k) => k.name],
                ['Prefix', (k) => <code>{k.prefix}…</code>],
                ['Scopes', (k) => [...k.scopes, ...k.roles.map((r) => `role:${r}`)].join(', ') || '—'],
                ['Created', (k) => when(k.created_at)],
                ['Last used', (k) => when(k.last_used_at)],
                [
                  'State',
                  (k) =>
                    k.revoked_at ? (
                      `revoked ${when(k.revoked_at)}`
                    ) : (
                      <button type="button" class="danger" aria-label={`Revoke ${k.name}`} onClick={() => revoke.act(k.id)}>
                        Revoke
                      </button>
                    ),
                ],
              ]}
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}
