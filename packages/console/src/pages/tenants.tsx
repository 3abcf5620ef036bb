import type { Tenant } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';

/** Tenants, for platform operators: list and create. */
export function Tenants({ session }: PageProps) {
  const { loam } = session;
  const tenants = useLoad(async () => (await loam.tenants.list({ limit: 100 })).items);
  const [id, setId] = useState('');
  const [name, setName] = useState('');
  const create = useAction(async () => {
    await loam.tenants.create({ id, name });
    setId('');
    setName('');
    tenants.reload();
  });
  return (
    <Page title="Tenants">
      <Card title="New tenant">
        <Form class="row" onSubmit={() => create.act()}>
          <Field label="Tenant id" hint="Lower-case letters, digits and dashes">
            <input required pattern="[a-z0-9][a-z0-9-]{1,62}" value={id} onInput={(e) => setId(e.currentTarget.value)} />
          </Field>
          <Field label="Tenant name">
            <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={create.busy}>
            Create tenant
          </button>
        </Form>
        <ErrorNote error={create.error} />
      </Card>
      <Card title="Tenants">
        <Loading state={tenants}>
          {(rows) => (
            <Table<Tenant>
              caption="Tenants"
              rows={rows}
              columns={[
                ['Id', (t) => <code>{t.id}</code>],
                ['Name', (t) => t.name],
                ['Tier', (t) => t.tier],
                ['Status', (t) => t.status],
                ['Created', (t) => when(t.created_at)],
              ]}
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}
