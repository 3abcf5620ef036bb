import { useState } from 'preact/hooks';
import { type Session, signIn, signInWithPassword } from './session.js';
import { ErrorNote, Field, Form, useAction } from './ui.js';

/** Sign-in with an API key or with email and password (the Atriumn login). */
export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [mode, setMode] = useState<'key' | 'password'>('key');
  const [apiKey, setApiKey] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, act } = useAction(async () => {
    onSignedIn(
      mode === 'key' ? await signIn({ kind: 'api_key', apiKey: apiKey.trim() }) : await signInWithPassword(email.trim(), password),
    );
  });
  return (
    <main class="signin" id="main">
      <h1>Sign in to Loam</h1>
      <div class="tabs" role="tablist" aria-label="Sign-in method">
        <button type="button" role="tab" aria-selected={mode === 'key'} onClick={() => setMode('key')}>
          API key
        </button>
        <button type="button" role="tab" aria-selected={mode === 'password'} onClick={() => setMode('password')}>
          Email and password
        </button>
      </div>
      <Form onSubmit={() => act()}>
        {mode === 'key' ? (
          <Field label="API key">
            <input type="password" autoComplete="off" required value={apiKey} onInput={(e) => setApiKey(e.currentTarget.value)} />
          </Field>
        ) : (
          <>
            <Field label="Email">
              <input type="email" autoComplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
            </Field>
            <Field label="Password">
              <input
                type="password"
                autoComplete="current-password"
                required
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </Field>
          </>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorNote error={error} />
      </Form>
    </main>
  );
}
