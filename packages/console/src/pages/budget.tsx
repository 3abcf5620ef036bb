import type { Loam } from '@loam/sdk';
import { useState } from 'preact/hooks';
import { ErrorNote, Field, Form, Loading, useAction, useLoad } from '../ui.js';

/** A differential-privacy ε budget (a dataset's subject is its id): what is spent, and its total set by an admin. */
export function BudgetEditor({ loam, subject, canSet }: { loam: Loam; subject: string; canSet: boolean }) {
  const budget = useLoad(() => loam.anonymization.budget(subject), [subject]);
  const [total, setTotal] = useState('');
  const save = useAction(async () => {
    await loam.anonymization.setBudget(subject, Number(total));
    setTotal('');
    budget.reload();
  });
  return (
    <>
      <Loading state={budget}>
        {(b) => (
          <p aria-live="polite" data-testid="budget-summary">
            ε {b.epsilon_remaining} of {b.epsilon_total} remaining ({b.epsilon_spent} spent)
          </p>
        )}
      </Loading>
      {canSet ? (
        <Form class="row" onSubmit={() => save.act()}>
          <Field label="Total ε" hint="The most this subject's differentially private queries may spend together">
            <input type="number" min={0} max={1000} step="any" required value={total} onInput={(e) => setTotal(e.currentTarget.value)} />
          </Field>
          <button type="submit" disabled={save.busy}>
            Set budget
          </button>
        </Form>
      ) : (
        <p class="muted">Setting a budget needs the scope 'admin'.</p>
      )}
      <ErrorNote error={save.error} />
    </>
  );
}
