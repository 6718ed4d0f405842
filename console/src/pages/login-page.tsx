/** Sign in with email and password (or paste an API token). */
import { useState, type FormEvent } from 'react';
import { api, callWithResponse, toApiError, type ApiError } from '../api/client.ts';
import { session } from '../auth/session.ts';
import { ErrorState } from '../ui/states.tsx';

export function LoginPage() {
  const [endReason] = useState(() => session.takeEndReason());
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [useToken, setUseToken] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (useToken) {
        session.fromApiToken(token.trim());
        // Prove the token works before showing the console.
        const res = await fetch('/v1/auth/me', { headers: { authorization: `Bearer ${token.trim()}` } });
        if (!res.ok) {
          session.signOut();
          throw toApiError(new Error('The token was refused: it is unknown, expired or revoked.'));
        }
      } else {
        const { data } = await callWithResponse(api.POST('/v1/auth/login', { body: { email, password } }));
        session.fromLogin(data);
      }
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <h1>rema console</h1>
      <p className="muted">Configuration of your sites, gateways, controllers, meters and sensors.</p>
      {endReason && <p className="state state-info">{endReason}</p>}
      <form onSubmit={submit} aria-label="Sign in">
        {useToken ? (
          <label>
            API token
            <input type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required />
          </label>
        ) : (
          <>
            <label>
              Email
              <input type="email" name="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required autoFocus />
            </label>
            <label>
              Password
              <input type="password" name="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
            </label>
          </>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <button type="button" className="link" onClick={() => setUseToken(!useToken)}>
          {useToken ? 'Sign in with email and password instead' : 'Use an API token instead'}
        </button>
      </form>
      {error && <ErrorState error={error} />}
    </main>
  );
}
