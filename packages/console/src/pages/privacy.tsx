import type { AnalyzeResult, DetectedEntity, OperatorConfig } from '@loam/sdk';
import { useState } from 'preact/hooks';
import type { PageProps } from '../page.js';
import { hasScope } from '../session.js';
import { Card, ErrorNote, Field, Form, Loading, Page, Table, useAction, useLoad } from '../ui.js';
import { BudgetEditor } from './budget.js';

const OPERATORS: OperatorConfig['type'][] = ['replace', 'redact', 'mask', 'hash', 'pseudonymize', 'generalize', 'keep'];
const SAMPLE = 'Ada Lovelace (ada@example.com, +44 20 7946 0958) lives at 12 Baker Street, London.';

/** The text split into plain runs and entity runs (overlaps: the first entity wins). */
function segments(text: string, entities: DetectedEntity[]) {
  const out: { text: string; entity?: DetectedEntity }[] = [];
  let at = 0;
  for (const e of [...entities].sort((a, b) => a.start - b.start)) {
    if (e.start < at) continue;
    if (e.start > at) out.push({ text: text.slice(at, e.start) });
    out.push({ text: text.slice(e.start, e.end), entity: e });
    at = e.end;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** The PII playground: entities highlighted by type with scores, each operator's output; techniques and budgets. */
export function Privacy({ session }: PageProps) {
  const { loam } = session;
  const [text, setText] = useState(SAMPLE);
  const [operator, setOperator] = useState<OperatorConfig['type']>('replace');
  const [result, setResult] = useState<{ text: string; analysis: AnalyzeResult }>();
  const [output, setOutput] = useState<string>();
  const [subject, setSubject] = useState('');
  const [shownSubject, setShownSubject] = useState('');
  const analyze = useAction(async () => {
    setOutput(undefined);
    setResult({ text, analysis: await loam.anonymization.analyze({ text, include_text: true }) });
  });
  const anonymize = useAction(async () => {
    setOutput((await loam.anonymization.anonymize({ text, operators: { DEFAULT: { type: operator } } })).text);
  });
  const techniques = useLoad(() => loam.anonymization.techniques());
  return (
    <Page title="Privacy">
      <Card title="PII playground">
        <Form onSubmit={() => analyze.act()}>
          <Field label="Text to analyze">
            <textarea rows={4} value={text} onInput={(e) => setText(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={analyze.busy}>
            Analyze
          </button>
        </Form>
        <ErrorNote error={analyze.error} />
        {result ? (
          <>
            <p class="highlighted" data-testid="pii-highlighted">
              {segments(result.text, result.analysis.entities).map((s, i) =>
                s.entity ? (
                  <mark key={i} class={`pii pii-${s.entity.type.toLowerCase()}`} title={`${s.entity.type} ${s.entity.score.toFixed(2)}`}>
                    {s.text}
                    <small>
                      {s.entity.type} {s.entity.score.toFixed(2)}
                    </small>
                  </mark>
                ) : (
                  <span key={i}>{s.text}</span>
                ),
              )}
            </p>
            <Table
              caption="Entities found"
              rows={result.analysis.entities}
              columns={[
                ['Type', (e) => e.type],
                ['Text', (e) => result.text.slice(e.start, e.end)],
                ['Score', (e) => e.score.toFixed(2)],
                ['Recognizer', (e) => e.recognizer],
              ]}
              empty="No entities found."
            />
          </>
        ) : null}
        <div class="row">
          <Field label="Operator">
            <select value={operator} onChange={(e) => setOperator(e.currentTarget.value as OperatorConfig['type'])}>
              {OPERATORS.map((o) => (
                <option key={o} value={o}>
                  {o}
                </option>
              ))}
            </select>
          </Field>
          <button type="button" disabled={anonymize.busy} onClick={() => anonymize.act()}>
            Anonymize
          </button>
        </div>
        <ErrorNote error={anonymize.error} />
        {output !== undefined ? (
          <Field label="Anonymized output">
            <output class="code" data-testid="pii-output">
              {output}
            </output>
          </Field>
        ) : null}
      </Card>
      <Card title="Differential-privacy budget">
        <Form class="row" onSubmit={() => setShownSubject(subject.trim())}>
          <Field label="Budget subject (a dataset id)">
            <input required value={subject} onInput={(e) => setSubject(e.currentTarget.value)} />
          </Field>
          <button type="submit">Read budget</button>
        </Form>
        {shownSubject ? <BudgetEditor loam={loam} subject={shownSubject} canSet={hasScope(session.whoami, 'admin')} /> : null}
      </Card>
      <Card title="Techniques">
        <Loading state={techniques}>
          {(list) => (
            <Table
              caption="Techniques"
              rows={list}
              columns={[
                ['Name', (t) => <code>{t.name}</code>],
                ['Kind', (t) => t.kind],
                ['Description', (t) => t.description],
              ]}
            />
          )}
        </Loading>
      </Card>
    </Page>
  );
}
