/**
 * Racing device writers: devices of one model, a few slots (meters) for them, and clients that
 * install stock devices into the same slots, report faults, swap devices, return them to the
 * vendor and patch their firmware with whatever version they last read — while others retire
 * and reactivate the meters under them — through every instance.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type pg from 'pg';
import type { AuditEvent } from '../../src/audit/types.ts';
import type { DeviceViewData as Device } from '../../src/lifecycle/devices/device-view.ts';
import { auditLog, type Graph, type Reader } from './oracle.ts';
import { is2xx, type Exchange, type Recorder } from './recorder.ts';
import { prng, type Balancer } from './workload.ts';

const deviceTag = (d: { id: string; version: number }) => `"device-${d.id}-v${d.version}"`;
const SLOT_STATES = ['installed', 'commissioned', 'active', 'maintenance'];

export async function registerDevices(rec: Recorder, balance: Balancer, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const ex = await rec.send<Device>(balance(), 0, 'POST', '/v1/devices', { body: { serial: `RACE-${randomUUID().slice(0, 8)}`, modelId: 'voltis-em-340', firmware: '1.0.0' } });
    if (ex.outcome !== 201) throw new Error(`register a device: ${ex.outcome} ${ex.text}`);
    ids.push((ex.response as Device).id);
  }
  return ids;
}

/** One client's loop until `until`. */
export async function raceDevices(opts: { rec: Recorder; balance: Balancer; client: number; seed: number; devices: readonly string[]; site: Graph; until: number }): Promise<void> {
  const random = prng(opts.seed * 31 + opts.client);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const meters = opts.site.assets.filter((a) => a.kind === 'meter');
  const send = (method: Exchange['method'], path: string, body?: unknown, headers: Record<string, string> = {}) => opts.rec.send(opts.balance(), opts.client, method, path, { body, headers });
  while (Date.now() < opts.until) {
    if (random() < 0.1) {
      // Retire or bring back a meter: a retired slot takes no device, and the one in it leaves.
      const m = await send('GET', `/v1/assets/${pick(meters).id}`);
      if (m.outcome !== 200) continue;
      const asset = m.response as { id: string; version: number; status: string };
      await send('PATCH', `/v1/assets/${asset.id}`, { status: asset.status === 'retired' ? 'active' : pick(['retired', 'active']) }, { 'if-match': `"asset-${asset.id}-v${asset.version}"` });
      continue;
    }
    const got = await send('GET', `/v1/devices/${pick(opts.devices)}`);
    if (got.outcome !== 200) continue;
    const d = got.response as Device;
    const tag = { 'if-match': deviceTag(d) };
    const r = random();
    if (d.state === 'in_stock') await send('POST', `/v1/devices/${d.id}/transitions`, { transition: 'install', assetId: pick(meters).id }, tag);
    else if (SLOT_STATES.includes(d.state) && r < 0.4) await send('POST', `/v1/devices/${d.id}/transitions`, { transition: 'report_fault', comment: 'race' }, tag);
    else if ((SLOT_STATES.includes(d.state) || d.state === 'faulty') && r < 0.7) await send('POST', `/v1/devices/${d.id}/replace`, { newDeviceId: pick(opts.devices) }, tag);
    else if (d.state === 'faulty' && r < 0.8) await send('POST', `/v1/devices/${d.id}/transitions`, { transition: 'return_to_vendor' }, tag);
    else if (r < 0.9) await send('POST', `/v1/devices/${d.id}/transitions`, { transition: pick(['commission', 'decommission', 'install']), ...(random() < 0.5 ? { assetId: pick(meters).id } : {}) }, tag);
    // Patches with the version read a moment ago, often stale by now.
    else await send('PATCH', `/v1/devices/${d.id}`, { firmware: pick(['1.0.0', '1.3.0', '2.0.1']) }, tag);
  }
}

/**
 * The device side of the oracle: at most one device per slot, none in a retired slot once the
 * lifecycle service has caught up, every acknowledged device write the `after` of an applied
 * event, no applied event from a refused request, and each device as its last event says.
 */
export async function checkDevices(api: Reader, pool: pg.Pool, devices: readonly string[], siteId: string, log: readonly Exchange[]): Promise<string[]> {
  const problems: string[] = [];
  const { rows: doubled } = await pool.query<{ asset_id: string; n: number }>(
    `SELECT asset_id, count(*)::int AS n FROM lifecycle.devices WHERE asset_id IS NOT NULL AND state = ANY($1) GROUP BY asset_id HAVING count(*) > 1`,
    [SLOT_STATES],
  );
  for (const r of doubled) problems.push(`asset ${r.asset_id} is filled by ${r.n} devices`);
  const graph = await api.get<Graph>(`/v1/sites/${siteId}/graph`);
  const retired = new Set(graph.assets.filter((a) => a.status === 'retired').map((a) => a.id));
  const present = new Set(graph.assets.map((a) => a.id));

  const events: AuditEvent[] = [];
  for (const id of devices) {
    const page = await api.get<{ items: AuditEvent[] }>(`/v1/audit?entityId=${id}&limit=1000`);
    events.push(...page.items);
  }
  events.push(...(await auditLog(api, siteId)).filter((e) => e.entityType === 'device' && !events.some((x) => x.id === e.id)));
  const applied = events.filter((e) => e.outcome === 'applied' && e.entityType === 'device');
  for (const id of devices) {
    const d = await api.get<Device>(`/v1/devices/${id}`);
    if (SLOT_STATES.includes(d.state) && d.assetId && (retired.has(d.assetId) || !present.has(d.assetId))) problems.push(`device ${d.serial} is ${d.state} in slot ${d.assetId}, which is retired or gone`);
    const mine = applied.filter((e) => e.entityId === id);
    const last = mine.reduce<AuditEvent | undefined>((a, e) => (a === undefined || Number((e.after as Device).version) > Number((a.after as Device).version) ? e : a), undefined);
    if (!last || !isDeepStrictEqual(last.after, d)) problems.push(`device ${d.serial}: its last event (${JSON.stringify(last?.after)?.slice(0, 200)}) is not the stored device (${JSON.stringify(d).slice(0, 200)})`);
  }
  for (const ex of log) {
    if (ex.method === 'GET' || !ex.path.startsWith('/v1/devices/')) continue;
    const mine = applied.filter((e) => e.requestId === ex.requestId);
    if (is2xx(ex)) {
      const body = ex.response as Device & { old?: Device; new?: Device };
      for (const view of body.old ? [body.old, body.new as Device] : [body]) {
        if (!applied.some((e) => e.entityId === view.id && isDeepStrictEqual(e.after, view))) problems.push(`${ex.method} ${ex.path} (${ex.requestId}): answered ${view.serial} v${view.version} ${view.state}, no applied event has it`);
      }
    } else if (typeof ex.outcome === 'number' && ex.outcome < 500 && mine.length > 0) problems.push(`${ex.method} ${ex.path} (${ex.requestId}): refused ${ex.outcome}, yet ${mine.length} applied event(s)`);
  }
  return problems;
}
