/**
 * The site's wiring, laid out from the graph: per gateway its RS-485 buses as daisy chains
 * (unit ids, cable lengths, total against the segment limit), devices on IP, and per controller
 * its channels with the sensor wired to each. Sections off screen are not painted
 * (content-visibility), so a few hundred assets stay readable and quick.
 */
import { useMemo, useState } from 'react';
import type { Asset, ModelSummary } from '../api/types.ts';
import { addressOf, busesOf, channelsOf, type Bus, type SiteIndex } from '../lib/site-index.ts';
import { Link } from '../lib/router.tsx';
import { Empty } from '../ui/states.tsx';

// About 1,200 m per RS-485 segment at ≤ 100 kbit/s (docs/rules.md, bus-cable-length).
const SEGMENT_LIMIT_M = 1200;

export function WiringView({ ix, catalog }: { ix: SiteIndex; catalog: Map<string, ModelSummary> }) {
  const [gwFilter, setGwFilter] = useState('');
  const gateways = ix.gateways.filter((g) => !gwFilter || g.id === gwFilter);
  if (ix.gateways.length === 0) return <Empty>This site has no gateway, so nothing is wired yet.</Empty>;
  return (
    <div className="wiring">
      {ix.gateways.length > 1 && (
        <label className="toolbar">
          Gateway
          <select value={gwFilter} onChange={(e) => setGwFilter(e.target.value)}>
            <option value="">all {ix.gateways.length} gateways</option>
            {ix.gateways.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
      )}
      {gateways.map((g) => (
        <GatewayWiring key={g.id} ix={ix} gw={g} catalog={catalog} />
      ))}
    </div>
  );
}

function portsOf(catalog: Map<string, ModelSummary>, modelId: string, types: string[]): string[] {
  return (catalog.get(modelId)?.ports ?? []).filter((p) => types.includes(p.type)).map((p) => p.name);
}

function GatewayWiring({ ix, gw, catalog }: { ix: SiteIndex; gw: Asset; catalog: Map<string, ModelSummary> }) {
  const buses = useMemo(() => busesOf(ix, gw, portsOf(catalog, gw.modelId, ['rs485'])), [ix, gw, catalog]);
  const kids = ix.children.get(gw.id) ?? [];
  const onIp = kids.filter((k) => !k.port || !k.port.startsWith('rs485'));
  const controllers = kids.filter((k) => k.kind === 'controller');
  return (
    <section className="gw-section" aria-label={`Gateway ${gw.name}`}>
      <h2>
        <Link to={`/assets/${gw.id}`}>{gw.name}</Link> <span className="muted small">{gw.modelId} · {addressOf(gw)}</span>
      </h2>
      {buses.map((b) => (
        <BusLine key={b.port} bus={b} />
      ))}
      {onIp.length > 0 && (
        <div className="bus">
          <h3>On IP</h3>
          <div className="chain">
            {onIp.map((a) => (
              <Stop key={a.id} a={a} />
            ))}
          </div>
        </div>
      )}
      {controllers.map((c) => (
        <ControllerChannels key={c.id} ix={ix} controller={c} catalog={catalog} />
      ))}
    </section>
  );
}

function Stop({ a }: { a: Asset }) {
  return (
    <Link to={`/assets/${a.id}`} className={`stop kind-${a.kind}`} title={`${a.kind} ${a.modelId}`}>
      <strong>{a.name}</strong>
      <span className="small">{addressOf(a) || a.kind}</span>
    </Link>
  );
}

function BusLine({ bus }: { bus: Bus }) {
  const s = bus.settings;
  const n = bus.stops.length + bus.uncabled.length;
  const over = bus.totalM > SEGMENT_LIMIT_M;
  return (
    <div className="bus">
      <h3>
        Bus {bus.port}{' '}
        <span className="muted small">
          {s ? `${String(s.protocol)} · ${String(s.baud)} baud · parity ${String(s.parity)} · ${String(s.stopBits)} stop bit${s.stopBits === 1 ? '' : 's'} · max ${String(s.maxDevices)} devices` : 'not configured'} · {n} device{n === 1 ? '' : 's'} · <span className={over ? 'bad' : ''}>{bus.totalM} m of cable (limit {SEGMENT_LIMIT_M} m)</span>
        </span>
      </h3>
      {n === 0 ? (
        <p className="muted small">Nothing on this bus.</p>
      ) : (
        <div className="chain" role="list" aria-label={`Devices on ${bus.port} in cable order`}>
          <span className="stop port" role="listitem">
            {bus.gateway.name} {bus.port}
          </span>
          {bus.stops.map((st) => (
            <span key={st.asset.id} className="hop" role="listitem">
              <span className="cable" title={st.cableLabel ?? undefined}>
                {st.cableM !== null ? `${st.cableM} m` : '?'}
              </span>
              <Stop a={st.asset} />
            </span>
          ))}
          {bus.uncabled.map((a) => (
            <span key={a.id} className="hop" role="listitem">
              <span className="cable missing">no cable</span>
              <Stop a={a} />
            </span>
          ))}
        </div>
      )}
    </div>
  );
}

function ControllerChannels({ ix, controller, catalog }: { ix: SiteIndex; controller: Asset; catalog: Map<string, ModelSummary> }) {
  const wires = useMemo(() => channelsOf(ix, controller, portsOf(catalog, controller.modelId, ['ai', 'ao', 'di', 'do'])), [ix, controller, catalog]);
  const used = wires.filter((w) => w.sensor || w.signal);
  return (
    <details className="controller" open={used.length <= 24}>
      <summary>
        Controller <Link to={`/assets/${controller.id}`}>{controller.name}</Link> <span className="muted small">{controller.modelId} · {addressOf(controller)} · {wires.filter((w) => w.sensor).length} of {wires.length} channels wired</span>
      </summary>
      <table className="channels">
        <thead>
          <tr>
            <th scope="col">Channel</th>
            <th scope="col">Configured signal</th>
            <th scope="col">Wired to</th>
            <th scope="col">Sensor output</th>
            <th scope="col">Cable</th>
          </tr>
        </thead>
        <tbody>
          {used.map((w) => {
            const out = w.sensor ? String((w.sensor.config as Record<string, unknown>).outputSignal ?? '') : '';
            const mismatch = w.sensor && w.signal && out && out !== w.signal;
            return (
              <tr key={w.channel} className={mismatch ? 'row-bad' : ''}>
                <td>{w.channel}</td>
                <td>{w.signal ?? <span className="muted">—</span>}</td>
                <td>{w.sensor ? <Link to={`/assets/${w.sensor.id}`}>{w.sensor.name}</Link> : <span className="muted">free</span>}</td>
                <td>
                  {out || '—'}
                  {mismatch && <span className="badge bad">signal mismatch</span>}
                </td>
                <td>{w.cable ? `${w.cable.lengthM ?? '?'} m${w.cable.label ? ` (${w.cable.label})` : ''}` : '—'}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </details>
  );
}
