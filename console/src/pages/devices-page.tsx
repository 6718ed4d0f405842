/** Devices: every physical device with its lifecycle state; register new ones in stock. */
import { useState, type FormEvent } from 'react';
import { api, call, toApiError, type ApiError } from '../api/client.ts';
import type { DeviceState } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { canSomewhere } from '../auth/permissions.ts';
import { useCatalog } from '../lib/models.ts';
import { Link, setQuery, useLocation } from '../lib/router.tsx';
import { useApi, useDebounced } from '../lib/use-api.ts';
import { Empty, ErrorState, Loading } from '../ui/states.tsx';

export const STATES: DeviceState[] = ['in_stock', 'installed', 'commissioned', 'active', 'maintenance', 'faulty', 'decommissioned', 'rma'];

export function DevicesPage() {
  const me = useMe();
  const { query } = useLocation();
  const siteId = query.get('siteId') ?? '';
  const state = (query.get('state') ?? '') as DeviceState | '';
  const install = query.get('install');
  const [q, setQ] = useState(query.get('q') ?? '');
  const search = useDebounced(q.trim(), 250);
  const list = useApi(() => call(api.GET('/v1/devices', { params: { query: { siteId: siteId || undefined, state: state || undefined, q: search || undefined, limit: 200 } } })), [siteId, state, search]);
  const sites = [...me.sites.values()].sort((a, b) => a.code.localeCompare(b.code));
  return (
    <section>
      <h1>Devices</h1>
      {install && <p className="state state-info">Choose a device in stock to install it at the asset you came from; the install is offered on the device's page.</p>}
      <RegisterDevice onDone={list.reload} />
      <div className="toolbar">
        <label>
          Site
          <select value={siteId} onChange={(e) => setQuery({ siteId: e.target.value || null })}>
            <option value="">all sites and stock</option>
            {sites.map((s) => (
              <option key={s.id} value={s.id}>
                {s.code}
              </option>
            ))}
          </select>
        </label>
        <label>
          State
          <select value={state} onChange={(e) => setQuery({ state: e.target.value || null })}>
            <option value="">any</option>
            {STATES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label>
          Serial or firmware
          <input type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
      </div>
      {list.error ? (
        <ErrorState error={list.error} onRetry={list.reload} title="Devices unavailable" />
      ) : !list.data ? (
        <Loading label="Loading devices…" />
      ) : list.data.items.length === 0 ? (
        <Empty>No devices{siteId || state || search ? ' match these filters' : ' registered yet: register one above'}.</Empty>
      ) : (
        <table className="list">
          <thead>
            <tr>
              <th scope="col">Serial</th>
              <th scope="col">Model</th>
              <th scope="col">Firmware</th>
              <th scope="col">State</th>
              <th scope="col">Site</th>
              <th scope="col">Asset</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((d) => (
              <tr key={d.id}>
                <td>
                  <Link to={`/devices/${d.id}${install ? `?assetId=${install}` : ''}`}>{d.serial}</Link>
                </td>
                <td>{d.modelId}</td>
                <td>{d.firmware}</td>
                <td>
                  <span className="badge">{d.state.replace('_', ' ')}</span>
                </td>
                <td>{d.siteId ? (me.sites.get(d.siteId)?.code ?? d.siteId.slice(0, 8)) : '—'}</td>
                <td>{d.assetId ? <Link to={`/assets/${d.assetId}`}>{d.assetId.slice(0, 8)}</Link> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function RegisterDevice({ onDone }: { onDone: () => void }) {
  const me = useMe();
  const catalog = useCatalog();
  const [open, setOpen] = useState(false);
  const [serial, setSerial] = useState('');
  const [modelId, setModelId] = useState('');
  const [firmware, setFirmware] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const allowed = canSomewhere(me.me, 'lifecycle.write');
  const model = catalog.data?.get(modelId);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const d = await call(api.POST('/v1/devices', { body: { serial, modelId, firmware } }));
      setDone(`Registered ${d.serial} in stock.`);
      setSerial('');
      onDone();
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  }
  if (!open)
    return (
      <div className="actions">
        <button type="button" onClick={() => setOpen(true)} disabled={!allowed}>
          Register a device
        </button>
        {!allowed && <span className="denied small">To register devices you need the operator or admin role.</span>}
        {done && <span role="status">{done}</span>}
      </div>
    );
  return (
    <form className="panel" onSubmit={submit} aria-label="Register a device">
      <h2>Register a device in stock</h2>
      <div className="row">
        <label>
          Serial number
          <input value={serial} onChange={(e) => setSerial(e.target.value)} required pattern="[A-Za-z0-9][A-Za-z0-9._/\-]*" maxLength={64} />
        </label>
        <label>
          Model
          <select value={modelId} onChange={(e) => (setModelId(e.target.value), setFirmware(''))} required>
            <option value="">choose…</option>
            {[...(catalog.data?.values() ?? [])].map((m) => (
              <option key={m.id} value={m.id}>
                {m.vendor} {m.model} ({m.kind})
              </option>
            ))}
          </select>
        </label>
        <label>
          Firmware
          <select value={firmware} onChange={(e) => setFirmware(e.target.value)} required disabled={!model}>
            <option value="">choose…</option>
            {(model?.firmware ?? []).map((f) => (
              <option key={f}>{f}</option>
            ))}
          </select>
        </label>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Registering…' : 'Register'}
        </button>
        <button type="button" onClick={() => setOpen(false)}>
          Close
        </button>
        {done && <span role="status">{done}</span>}
      </div>
      {error && <ErrorState error={error} title="Not registered" />}
    </form>
  );
}
