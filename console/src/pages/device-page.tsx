/**
 * One device: its lifecycle state, every transition with whether it is allowed now and the
 * guards' reasons when not, and the RMA swap for a device in a slot.
 */
import { useState } from 'react';
import { api, call, callWithResponse, toApiError, type ApiError } from '../api/client.ts';
import type { Device, TransitionName, Transitions } from '../api/types.ts';
import { useMe } from '../auth/me.tsx';
import { canSomewhere } from '../auth/permissions.ts';
import { Link, useLocation } from '../lib/router.tsx';
import { useApi } from '../lib/use-api.ts';
import { Denied, ErrorState, Loading } from '../ui/states.tsx';
import { ViolationList } from '../ui/violations.tsx';

const LABEL: Record<TransitionName, string> = {
  install: 'Install at an asset',
  commission: 'Commission',
  activate: 'Activate',
  start_maintenance: 'Start maintenance',
  end_maintenance: 'End maintenance',
  decommission: 'Decommission',
  report_fault: 'Report a fault',
  return_to_vendor: 'Return to vendor (RMA)',
};

export function DevicePage({ deviceId }: { deviceId: string }) {
  const me = useMe();
  const { query } = useLocation();
  const [assetId, setAssetId] = useState(query.get('assetId') ?? '');
  const device = useApi(() => callWithResponse(api.GET('/v1/devices/{id}', { params: { path: { id: deviceId } } })), [deviceId]);
  const transitions = useApi(() => call(api.GET('/v1/devices/{id}/transitions', { params: { path: { id: deviceId }, query: { assetId: assetId || undefined } } })), [deviceId, assetId, device.data?.data.version]);
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);

  if (device.error) return <ErrorState error={device.error} onRetry={device.reload} title="Could not load the device" />;
  if (!device.data) return <Loading label="Loading the device…" />;
  const d = device.data.data;
  const etag = device.data.response.headers.get('etag') ?? `"device-${d.id}-v${d.version}"`;
  // A device at a site needs the permission there; one in stock, anywhere in the organisation.
  const denied = d.siteId ? me.whyNot('lifecycle.write', d.siteId) : canSomewhere(me.me, 'lifecycle.write') ? null : me.whyNot('lifecycle.write');

  async function run(t: TransitionName) {
    setBusy(t);
    setError(null);
    setDone(null);
    try {
      const next = await call(api.POST('/v1/devices/{id}/transitions', { params: { path: { id: d.id } }, headers: { 'If-Match': etag }, body: { transition: t, assetId: t === 'install' ? assetId : undefined, comment: comment || undefined } }));
      setDone(`${LABEL[t]}: the device is now ${next.state.replace('_', ' ')}.`);
      device.reload();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(null);
    }
  }

  return (
    <section>
      <p className="crumbs">
        <Link to="/devices">Devices</Link> / {d.serial}
      </p>
      <h1>
        Device {d.serial} <span className="badge">{d.state.replace('_', ' ')}</span>
      </h1>
      <dl className="facts">
        <dt>Model</dt>
        <dd>{d.modelId}</dd>
        <dt>Firmware</dt>
        <dd>{d.firmware}</dd>
        <dt>Site</dt>
        <dd>{d.siteId ? <Link to={`/sites/${d.siteId}`}>{me.sites.get(d.siteId)?.code ?? d.siteId.slice(0, 8)}</Link> : 'none (in stock, decommissioned or returned)'}</dd>
        <dt>Asset</dt>
        <dd>{d.assetId ? <Link to={`/assets/${d.assetId}`}>{d.assetId.slice(0, 8)}</Link> : '—'}</dd>
        <dt>Version</dt>
        <dd>{d.version}</dd>
      </dl>
      <h2>Lifecycle transitions</h2>
      {d.state === 'in_stock' && <InstallTarget device={d} assetId={assetId} setAssetId={setAssetId} />}
      <label className="toolbar">
        Comment for the transition
        <input type="text" value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} />
      </label>
      {transitions.error ? <ErrorState error={transitions.error} onRetry={transitions.reload} /> : !transitions.data ? <Loading label="Checking which transitions are allowed…" /> : <TransitionList t={transitions.data} busy={busy} denied={denied} onRun={run} needsAsset={!assetId} />}
      {error && <ErrorState error={error} title="Transition refused" />}
      {done && (
        <p className="state state-ok" role="status">
          {done}
        </p>
      )}
      {d.assetId && ['installed', 'commissioned', 'active', 'maintenance', 'faulty'].includes(d.state) && <RmaSwap device={d} etag={etag} denied={denied} onDone={device.reload} />}
    </section>
  );
}

function TransitionList({ t, busy, denied, onRun, needsAsset }: { t: Transitions; busy: string | null; denied: string | null; onRun: (t: TransitionName) => void; needsAsset: boolean }) {
  return (
    <ul className="transitions">
      {t.items.map((x) => {
        const notFromHere = !x.from.includes(t.state);
        const blocked = !x.allowed || (x.transition === 'install' && needsAsset);
        return (
          <li key={x.transition} className={x.allowed ? 'allowed' : 'blocked'}>
            <button type="button" onClick={() => onRun(x.transition)} disabled={blocked || busy !== null || !!denied}>
              {busy === x.transition ? 'Working…' : LABEL[x.transition]}
            </button>{' '}
            <span className="muted small">→ {x.to.replace('_', ' ')}</span>
            {notFromHere ? (
              <span className="muted small"> — only from {x.from.map((s) => s.replace('_', ' ')).join(', ')}</span>
            ) : x.transition === 'install' && needsAsset ? (
              <span className="muted small"> — choose the asset to install at above</span>
            ) : (
              x.violations.length > 0 && <ViolationList violations={x.violations} />
            )}
          </li>
        );
      })}
      {denied && (
        <li>
          <Denied reason={denied} />
        </li>
      )}
    </ul>
  );
}

function InstallTarget({ device, assetId, setAssetId }: { device: Device; assetId: string; setAssetId: (id: string) => void }) {
  const me = useMe();
  const [siteId, setSiteId] = useState('');
  const assets = useApi(() => call(api.GET('/v1/assets', { params: { query: { siteId, modelId: device.modelId, limit: 500 } } })), [siteId, device.modelId], { enabled: !!siteId });
  return (
    <div className="toolbar">
      <label>
        Install at site
        <select value={siteId} onChange={(e) => setSiteId(e.target.value)}>
          <option value="">choose…</option>
          {[...me.sites.values()].map((s) => (
            <option key={s.id} value={s.id}>
              {s.code}
            </option>
          ))}
        </select>
      </label>
      <label>
        Asset ({device.modelId})
        <select value={assetId} onChange={(e) => setAssetId(e.target.value)}>
          <option value="">{siteId ? (assets.data ? `${assets.data.items.length} assets of this model` : 'loading…') : 'choose a site first'}</option>
          {assetId && !assets.data?.items.some((a) => a.id === assetId) && <option value={assetId}>asset {assetId.slice(0, 8)}</option>}
          {(assets.data?.items ?? []).map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}

function RmaSwap({ device, etag, denied, onDone }: { device: Device; etag: string; denied: string | null; onDone: () => void }) {
  const spares = useApi(() => call(api.GET('/v1/devices', { params: { query: { state: 'in_stock', modelId: device.modelId, limit: 100 } } })), [device.modelId]);
  const [spare, setSpare] = useState('');
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [result, setResult] = useState<string | null>(null);
  async function swap() {
    setBusy(true);
    setError(null);
    try {
      const r = await call(api.POST('/v1/devices/{id}/replace', { params: { path: { id: device.id } }, headers: { 'If-Match': etag }, body: { newDeviceId: spare, comment: comment || undefined } }));
      setResult(`Replaced: ${r.old.serial} went to RMA, ${r.new.serial} is installed.${r.deploymentId ? ' Its configuration is being deployed.' : ''}`);
      onDone();
    } catch (e) {
      setError(toApiError(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <section className="panel" aria-label="RMA swap">
      <h2>Replace this device (RMA swap)</h2>
      <p className="muted">The device goes back to the vendor and a spare of the same model takes its slot, in one step; the asset's configuration is then deployed to the spare.</p>
      {spares.error ? (
        <ErrorState error={spares.error} onRetry={spares.reload} />
      ) : !spares.data ? (
        <Loading label="Looking for spares…" />
      ) : spares.data.items.length === 0 ? (
        <p className="state state-empty">No spare {device.modelId} in stock: register one under Devices first.</p>
      ) : (
        <div className="row">
          <label>
            Spare
            <select value={spare} onChange={(e) => setSpare(e.target.value)}>
              <option value="">choose…</option>
              {spares.data.items.map((s) => (
                <option key={s.id} value={s.id}>
                  {s.serial} (firmware {s.firmware})
                </option>
              ))}
            </select>
          </label>
          <label>
            Comment
            <input value={comment} onChange={(e) => setComment(e.target.value)} maxLength={2000} />
          </label>
          <button type="button" onClick={swap} disabled={!spare || busy || !!denied}>
            {busy ? 'Swapping…' : 'Swap'}
          </button>
          <Denied reason={denied} />
        </div>
      )}
      {error && <ErrorState error={error} title="Not replaced" />}
      {result && (
        <p className="state state-ok" role="status">
          {result}
        </p>
      )}
    </section>
  );
}
