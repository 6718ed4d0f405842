/** Administration: users and their role bindings per site, API tokens (the secret shown once). */
import { useState, type FormEvent } from 'react';
import { api, call, callWithResponse, toApiError, type ApiError } from '../api/client.ts';
import type { Role, User } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { ALL_ROLES } from '../auth/permissions.ts';
import { useApi } from '../lib/use-api.ts';
import { Denied, Empty, ErrorState, Loading } from '../ui/states.tsx';
import { Tabs } from '../ui/tabs.tsx';
import { setQuery, useLocation } from '../lib/router.tsx';

type Binding = { role: Role; siteId: string | null };

export function AdminPage() {
  const { query } = useLocation();
  const tab = query.get('tab') === 'tokens' ? 'tokens' : 'users';
  return (
    <section>
      <h1>Administration</h1>
      <Tabs label="Administration" tabs={[{ id: 'users', label: 'Users and roles' }, { id: 'tokens', label: 'API tokens' }]} current={tab} onSelect={(t) => setQuery({ tab: t === 'users' ? null : t })} />
      <div role="tabpanel" aria-label={tab}>
        {tab === 'users' ? <Users /> : <Tokens />}
      </div>
    </section>
  );
}

function BindingsEditor({ value, onChange }: { value: Binding[]; onChange: (b: Binding[]) => void }) {
  const { sites } = useMe();
  const list = [...sites.values()].sort((a, b) => a.code.localeCompare(b.code));
  return (
    <fieldset className="bindings">
      <legend>Role bindings</legend>
      {value.length === 0 && <p className="muted small">No roles: this principal can see nothing.</p>}
      {value.map((b, i) => (
        <div key={i} className="row">
          <label>
            Role
            <select value={b.role} onChange={(e) => onChange(value.map((x, j) => (j === i ? { ...x, role: e.target.value as Role } : x)))}>
              {ALL_ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <label>
            Where
            <select value={b.siteId ?? ''} onChange={(e) => onChange(value.map((x, j) => (j === i ? { ...x, siteId: e.target.value || null } : x)))}>
              <option value="">the whole organisation</option>
              {list.map((s) => (
                <option key={s.id} value={s.id}>
                  site {s.code}
                </option>
              ))}
            </select>
          </label>
          <button type="button" className="link" onClick={() => onChange(value.filter((_, j) => j !== i))}>
            Remove binding
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...value, { role: 'viewer', siteId: null }])}>
        Add a binding
      </button>
    </fieldset>
  );
}

function describe(bindings: Array<{ role: string; siteId: string | null }>, sites: Map<string, { code: string }>) {
  return bindings.map((b) => `${b.role} on ${b.siteId ? `site ${sites.get(b.siteId)?.code ?? b.siteId.slice(0, 8)}` : 'the organisation'}`).join('; ') || 'no roles';
}

function Users() {
  const me = useMe();
  const users = useApi(() => call(api.GET('/v1/users', { params: { query: { limit: 500 } } })), []);
  const denied = me.whyNot('admin.manage');
  const [creating, setCreating] = useState(false);
  if (users.error) return <ErrorState error={users.error} onRetry={users.reload} title="Users unavailable" />;
  if (!users.data) return <Loading label="Loading users…" />;
  return (
    <div>
      <div className="actions">
        <button type="button" onClick={() => setCreating(true)} disabled={!!denied}>
          Add a user
        </button>
        <Denied reason={denied} />
      </div>
      {creating && <NewUser onClose={() => (setCreating(false), users.reload())} />}
      {users.data.items.length === 0 ? (
        <Empty>No users.</Empty>
      ) : (
        <ul className="cards">
          {users.data.items.map((u) => (
            <UserCard key={u.id} user={u} onChanged={users.reload} disabled={!!denied} />
          ))}
        </ul>
      )}
    </div>
  );
}

function NewUser({ onClose }: { onClose: () => void }) {
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<Binding[]>([{ role: 'viewer', siteId: null }]);
  const [error, setError] = useState<ApiError | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const u = await call(api.POST('/v1/users', { body: { email, name, password: password || undefined, roles } }));
      setCreated(u.initialPassword ? `User ${u.email} created. Initial password (shown once, pass it on securely): ${u.initialPassword}` : `User ${u.email} created.`);
    } catch (err) {
      setError(toApiError(err));
    }
  }
  return (
    <form className="panel" onSubmit={submit} aria-label="Add a user">
      <h2>Add a user</h2>
      <div className="row">
        <label>
          Email
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />
        </label>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          Password (12+ characters; empty: generate one)
          <input type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} minLength={12} />
        </label>
      </div>
      <BindingsEditor value={roles} onChange={setRoles} />
      <div className="actions">
        <button type="submit" className="primary" disabled={!!created}>
          Create user
        </button>
        <button type="button" onClick={onClose}>
          {created ? 'Done' : 'Cancel'}
        </button>
      </div>
      {created && (
        <p className="state state-ok secret" role="status">
          {created}
        </p>
      )}
      {error && <ErrorState error={error} title="User not created" />}
    </form>
  );
}

function UserCard({ user, onChanged, disabled }: { user: User; onChanged: () => void; disabled: boolean }) {
  const { sites } = useMe();
  const [editing, setEditing] = useState<{ etag: string; roles: Binding[] } | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  async function startEdit() {
    setError(null);
    try {
      const { data, response } = await callWithResponse(api.GET('/v1/users/{id}/roles', { params: { path: { id: user.id } } }));
      setEditing({ etag: response.headers.get('etag') ?? '', roles: data.items.map((b) => ({ role: b.role, siteId: b.siteId })) });
    } catch (e) {
      setError(toApiError(e));
    }
  }
  async function save() {
    if (!editing) return;
    setBusy(true);
    setError(null);
    try {
      await call(api.PUT('/v1/users/{id}/roles', { params: { path: { id: user.id } }, headers: { 'If-Match': editing.etag }, body: { items: editing.roles } }));
      setEditing(null);
      onChanged();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  }
  async function toggleDisabled() {
    setBusy(true);
    setError(null);
    try {
      const { response } = await callWithResponse(api.GET('/v1/users/{id}', { params: { path: { id: user.id } } }));
      await call(api.PATCH('/v1/users/{id}', { params: { path: { id: user.id } }, headers: { 'If-Match': response.headers.get('etag') ?? '' }, body: { disabled: !user.disabled } }));
      onChanged();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <li className="panel">
      <strong>{user.name}</strong> <span className="muted">{user.email}</span> {user.disabled && <span className="badge bad">disabled</span>}
      <p className="small">{describe(user.roles, sites)}</p>
      {editing ? (
        <>
          <BindingsEditor value={editing.roles} onChange={(roles) => setEditing({ ...editing, roles })} />
          <div className="actions">
            <button type="button" className="primary" onClick={save} disabled={busy}>
              Save roles
            </button>
            <button type="button" onClick={() => setEditing(null)}>
              Cancel
            </button>
          </div>
        </>
      ) : (
        <div className="actions">
          <button type="button" onClick={startEdit} disabled={disabled}>
            Edit roles
          </button>
          <button type="button" onClick={toggleDisabled} disabled={disabled || busy}>
            {user.disabled ? 'Enable' : 'Disable'}
          </button>
        </div>
      )}
      {error && <ErrorState error={error} />}
    </li>
  );
}

function Tokens() {
  const me = useMe();
  const tokens = useApi(() => call(api.GET('/v1/tokens', { params: { query: { limit: 500 } } })), []);
  const [name, setName] = useState('');
  const [days, setDays] = useState(90);
  const [roles, setRoles] = useState<Binding[]>([]);
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const loginOnly = me.me.kind !== 'user' ? 'API tokens are created by a signed-in user, not by another token: sign in with email and password.' : null;

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setSecret(null);
    try {
      const t = await call(api.POST('/v1/tokens', { body: { name, roles: roles.length ? roles : undefined, expiresAt: new Date(Date.now() + days * 86_400_000).toISOString() } }));
      setSecret(t.secret);
      setName('');
      tokens.reload();
    } catch (err) {
      setError(toApiError(err));
    }
  }
  async function revoke(id: string) {
    if (!window.confirm('Revoke this token? Every client using it stops working at once.')) return;
    setError(null);
    try {
      const { response } = await callWithResponse(api.GET('/v1/tokens/{id}', { params: { path: { id } } }));
      await call(api.DELETE('/v1/tokens/{id}', { params: { path: { id } }, headers: { 'If-Match': response.headers.get('etag') ?? '' } }));
      tokens.reload();
    } catch (err) {
      setError(toApiError(err));
    }
  }
  return (
    <div>
      <form className="panel" onSubmit={create} aria-label="Create an API token">
        <h2>Create an API token</h2>
        <div className="row">
          <label>
            Name
            <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
          </label>
          <label>
            Expires in (days, at most 365)
            <input type="number" min={1} max={365} value={days} onChange={(e) => setDays(Number(e.target.value))} />
          </label>
        </div>
        <p className="muted small">Without bindings the token gets your own roles; each binding must be covered by one of yours.</p>
        <BindingsEditor value={roles} onChange={setRoles} />
        <div className="actions">
          <button type="submit" className="primary" disabled={!!loginOnly}>
            Create token
          </button>
          <Denied reason={loginOnly} />
        </div>
        {secret && (
          <div className="state state-ok secret" role="status">
            <p>
              <strong>Copy this token now: it is shown only once.</strong>
            </p>
            <code data-testid="token-secret">{secret}</code>{' '}
            <button type="button" onClick={() => navigator.clipboard?.writeText(secret)}>
              Copy
            </button>
          </div>
        )}
      </form>
      {error && <ErrorState error={error} />}
      {tokens.error ? (
        <ErrorState error={tokens.error} onRetry={tokens.reload} title="Tokens unavailable" />
      ) : !tokens.data ? (
        <Loading label="Loading tokens…" />
      ) : tokens.data.items.length === 0 ? (
        <Empty>No API tokens.</Empty>
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Prefix</th>
              <th scope="col">Roles</th>
              <th scope="col">Status</th>
              <th scope="col">Expires</th>
              <th scope="col">Last used</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.items.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>
                  <code>{t.prefix}…</code>
                </td>
                <td className="small">{describe(t.roles, me.sites)}</td>
                <td>{t.status}</td>
                <td>{t.expiresAt ? new Date(t.expiresAt).toLocaleDateString() : 'never'}</td>
                <td>{t.lastUsedAt ? new Date(t.lastUsedAt).toLocaleString() : 'never'}</td>
                <td>
                  {t.status === 'active' && (
                    <button type="button" onClick={() => revoke(t.id)}>
                      Revoke {t.name}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
