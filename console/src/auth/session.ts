/**
 * The signed-in session: the access token (and refresh token) from POST /v1/auth/login, or an
 * API token pasted by the operator. Kept in sessionStorage, so it dies with the browser tab and
 * is never written to disk by the console. React reads it through {@link useSession}.
 */
import { useSyncExternalStore } from 'react';

interface Stored {
  kind: 'login' | 'api-token';
  accessToken: string;
  refreshToken: string | null;
  /** Epoch ms when the access token expires (null for an API token). */
  expiresAt: number | null;
}

const KEY = 'rema.session';
const listeners = new Set<() => void>();
let current: Stored | null = read();
let ending: string | null = null;
let refreshing: Promise<boolean> | null = null;

function read(): Stored | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Stored) : null;
  } catch {
    return null;
  }
}

function write(next: Stored | null) {
  current = next;
  if (next) sessionStorage.setItem(KEY, JSON.stringify(next));
  else sessionStorage.removeItem(KEY);
  for (const l of listeners) l();
}

interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export const session = {
  accessToken: () => current?.accessToken ?? null,
  canRefresh: () => Boolean(current?.refreshToken),
  signedIn: () => current !== null,
  /** Why the last session ended, for the sign-in page (cleared when read). */
  takeEndReason(): string | null {
    const r = ending;
    ending = null;
    return r;
  },
  fromLogin(pair: TokenPair) {
    write({ kind: 'login', accessToken: pair.accessToken, refreshToken: pair.refreshToken, expiresAt: Date.now() + pair.expiresIn * 1000 });
  },
  fromApiToken(token: string) {
    write({ kind: 'api-token', accessToken: token, refreshToken: null, expiresAt: null });
  },
  signOut(reason: string | null = null) {
    ending = reason;
    write(null);
  },
  /** Trades the refresh token for a new pair; false (and signed out) when that fails. */
  refresh(): Promise<boolean> {
    const token = current?.refreshToken;
    if (!token) return Promise.resolve(false);
    refreshing ??= (async () => {
      try {
        const res = await post('/v1/auth/refresh', { refreshToken: token });
        if (!res.ok) {
          session.signOut('Your session has ended (signed out elsewhere, or it expired). Sign in again.');
          return false;
        }
        session.fromLogin((await res.json()) as TokenPair);
        return true;
      } catch {
        return false;
      } finally {
        refreshing = null;
      }
    })();
    return refreshing;
  },
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  snapshot: () => current,
};

// Renew the access token a minute before it expires, so long-running screens keep working.
setInterval(() => {
  if (current?.expiresAt && current.refreshToken && current.expiresAt - Date.now() < 60_000) void session.refresh();
}, 15_000);

export function useSession(): Stored | null {
  return useSyncExternalStore(session.subscribe, session.snapshot);
}
