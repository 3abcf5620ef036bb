import type { Loam, Prompt } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { diffLines } from '../diff.js';
import { type PageProps, href } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad, when } from '../ui.js';

/** `{{name}}` placeholders of a template, in order of first use. */
const variablesOf = (template: string) => [...new Set([...template.matchAll(/\{\{\s*([A-Za-z_][\w.]*)\s*\}\}/g)].map((m) => m[1]))];

export function Prompts({ session, params }: PageProps) {
  if (params[0]) return <PromptDetail session={session} params={params} />;
  const { loam, whoami } = session;
  const list = useLoad(async () => (await loam.prompts.list({ maxResults: 100 })).items);
  const [name, setName] = useState('');
  const [template, setTemplate] = useState('');
  const create = useAction(async () => {
    const p = await loam.prompts.create({ name, template, variables: variablesOf(template).map((v) => ({ name: v })) });
    location.hash = href('prompts', p.id);
  });
  return (
    <Page title="Prompts">
      {hasScope(whoami, 'ai:write') ? (
        <Card title="New prompt">
          <Form onSubmit={() => create.act()}>
            <Field label="Prompt name">
              <input required value={name} onInput={(e) => setName(e.currentTarget.value)} />
            </Field>
            <Field label="Template" hint="Variables as {{name}}">
              <textarea required rows={4} value={template} onInput={(e) => setTemplate(e.currentTarget.value)} />
            </Field>
            <button type="submit" disabled={create.busy}>
              Create prompt
            </button>
            <ErrorNote error={create.error} />
          </Form>
        </Card>
      ) : null}
      <Card title="All prompts">
        <Loading state={list}>
          {(rows) => (
            <Table<Prompt>
              caption="Prompts"
              rows={rows}
              columns={[
                ['Name', (p) => <a href={href('prompts', p.id)}>{p.name}</a>],
                ['Version', (p) => p.version],
                ['Updated', (p) => when(p.updatedAt)],
              ]}
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}

function PromptDetail({ session, params }: PageProps) {
  const { loam, whoami } = session;
  const id = params[0];
  const prompt = useLoad(() => loam.prompts.get(id), [id]);
  const versions = useLoad(() => loam.prompts.versions(id, { maxResults: 100 }), [id]);
  const canWrite = hasScope(whoami, 'ai:write');
  const reload = () => {
    prompt.reload();
    versions.reload();
  };
  return (
    <Page title={prompt.data ? `Prompt ${prompt.data.name}` : 'Prompt'} actions={<a href={href('prompts')}>All prompts</a>}>
      <Loading state={prompt}>
        {(p) => (
          <>
            <Editor key={`${p.id}-${p.version}`} loam={loam} prompt={p} canWrite={canWrite} onSaved={reload} />
            <RenderPreview loam={loam} prompt={p} />
          </>
        )}
      </Loading>
      <Loading state={versions}>
        {(v) => (
          <>
            <Card title="Versions and labels">
              <Table
                caption="Versions"
                rows={v.versions}
                columns={[
                  ['Version', (x) => x.version],
                  ['Labels', (x) => x.labels.join(', ')],
                  ['Created', (x) => when(x.createdAt)],
                  ['By', (x) => x.createdBy],
                ]}
              />
            </Card>
            <VersionForms loam={loam} id={id} versions={v.versions.map((x) => x.version)} canWrite={canWrite} onSaved={versions.reload} />
          </>
        )}
      </Loading>
    </Page>
  );
}

function Editor({ loam, prompt, canWrite, onSaved }: { loam: Loam; prompt: Prompt; canWrite: boolean; onSaved: () => void }) {
  const [template, setTemplate] = useState(prompt.template);
  const save = useAction(async () => {
    await loam.prompts.update(prompt.id, { template, variables: variablesOf(template).map((v) => ({ name: v })) });
    onSaved();
  });
  return (
    <Card title={`Template (version ${prompt.version})`}>
      <Field label="Template">
        <textarea rows={6} class="code" readOnly={!canWrite} value={template} onInput={(e) => setTemplate(e.currentTarget.value)} />
      </Field>
      <p class="muted">Variables: {variablesOf(template).join(', ') || 'none'}</p>
      {canWrite ? (
        <button type="button" disabled={save.busy || template === prompt.template} onClick={() => save.act()}>
          Save as new version
        </button>
      ) : null}
      <ErrorNote error={save.error} />
    </Card>
  );
}

function RenderPreview({ loam, prompt }: { loam: Loam; prompt: Prompt }) {
  const names = variablesOf(prompt.template);
  const [values, setValues] = useState<Record<string, string>>({});
  const [text, setText] = useState<string>();
  const render = useAction(async () => setText((await loam.prompts.render(prompt.id, { variables: values })).text));
  return (
    <Card title="Render preview">
      {names.map((n) => (
        <Field key={n} label={`Variable ${n}`}>
          <input value={values[n] ?? ''} onInput={(e) => setValues({ ...values, [n]: e.currentTarget.value })} />
        </Field>
      ))}
      <button type="button" class="secondary" onClick={() => render.act()}>
        Render
      </button>
      {text !== undefined ? <pre class="code">{text}</pre> : null}
      <ErrorNote error={render.error} />
    </Card>
  );
}

function VersionDiffCard({ loam, id, versions }: { loam: Loam; id: string; versions: number[] }) {
  const [from, setFrom] = useState(String(versions[1] ?? versions[0] ?? ''));
  const [to, setTo] = useState(String(versions[0] ?? ''));
  const [lines, setLines] = useState<ReturnType<typeof diffLines>>();
  const compare = useAction(async () => {
    const [a, b] = await Promise.all([loam.prompts.get(id, { version: Number(from) }), loam.prompts.get(id, { version: Number(to) })]);
    setLines(diffLines(a.template, b.template));
  });
  return (
    <Card title="Compare versions">
      <div class="row">
        <VersionPicker label="From version" versions={versions} value={from} onChange={setFrom} />
        <VersionPicker label="To version" versions={versions} value={to} onChange={setTo} />
        <button type="button" onClick={() => compare.act()} disabled={compare.busy}>
          Show diff
        </button>
      </div>
      <ErrorNote error={compare.error} />
      {lines ? (
        <pre class="diff" data-testid="prompt-diff">
          {lines.map((l, i) => (
            <div key={i} class={`diff-${l.kind}`}>
              {l.kind === 'added' ? '+ ' : l.kind === 'removed' ? '- ' : '  '}
              {l.text}
            </div>
          ))}
        </pre>
      ) : null}
    </Card>
  );
}

function LabelForm({ loam, id, versions, onSaved }: { loam: Loam; id: string; versions: number[]; onSaved: () => void }) {
  const [label, setLabel] = useState('production');
  const [version, setVersion] = useState(String(versions[0] ?? ''));
  const save = useAction(async () => {
    await loam.prompts.setLabel(id, label.trim(), Number(version));
    onSaved();
  });
  return (
    <Card title="Point a label at a version">
      <Form class="row" onSubmit={() => save.act()}>
        <Field label="Label">
          <input required value={label} onInput={(e) => setLabel(e.currentTarget.value)} />
        </Field>
        <VersionPicker label="Label version" versions={versions} value={version} onChange={setVersion} />
        <button type="submit" disabled={save.busy}>
          Set label
        </button>
      </Form>
      <ErrorNote error={save.error} />
    </Card>
  );
}

function VersionPicker({
  label,
  versions,
  value,
  onChange,
}: {
  label: string;
  versions: number[];
  value: string;
  onChange: (v: string) => void;
}) {
  return (
    <Field label={label}>
      <select value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        {versions.map((v) => (
          <option key={v} value={v}>
            Version {v}
          </option>
        ))}
      </select>
    </Field>
  );
}

/** The label and diff forms, started afresh when the versions change (their defaults are the newest). */
function VersionForms({
  versions,
  canWrite,
  ...props
}: {
  loam: Loam;
  id: string;
  versions: number[];
  canWrite: boolean;
  onSaved: () => void;
}) {
  const key = versions.join();
  return (
    <>
      {canWrite ? <LabelForm key={key} versions={versions} {...props} /> : null}
      <VersionDiffCard key={key} versions={versions} loam={props.loam} id={props.id} />
    </>
  );
}
