import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { cablePorts } from './cable-ports.ts';
import type { RuleContext } from './types.ts';

const check = (ctx: RuleContext) => cablePorts.check(ctx);

/** The context of a change that lays the cable `lay` adds (absent before, present after). */
function laying(b: SiteBuilder, lay: () => string): { ctx: RuleContext; id: string } {
  const id = lay();
  const cable = b.graph.connections.get(id)!;
  b.graph.connections.delete(id);
  return { id, ctx: b.change((g) => g.connections.set(id, structuredClone(cable)), [], [id]) };
}

describe('cable-ports', () => {
  it('passes a default site with a gateway, a controller with sensors, meters and their wiring', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'ui-1');
    const m = b.meter(gw, 'rs485-2');
    b.cable([gw, 'rs485-1'], [c, 'com'], 40);
    b.cable([gw, 'rs485-2'], [m, 'com'], 60);
    b.cable([s, 'out'], [c, 'ui-1'], 5);
    expect(check(b.whole())).toEqual([]);
  });

  it('refuses a cable to a port the model does not have', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    const { ctx } = laying(b, () => b.cable([gw, 'rs485-1'], [m, 'rs485-1'], 10, 'K-1'));
    const v = check(ctx);
    expect(v).toEqual([
      expect.objectContaining({ code: 'CABLE_PORT_UNKNOWN', severity: 'error', assetIds: [m, gw], path: '/b/port' }),
    ]);
    expect(v[0].message).toContain('cable "K-1" ends on port "rs485-1" of meter M-1');
    expect(v[0].message).toContain('com');
  });

  it('accepts the same cable on the meter\'s real port', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    expect(check(laying(b, () => b.cable([gw, 'rs485-1'], [m, 'com'])).ctx)).toEqual([]);
  });

  it('gives a wired sensor one virtual output port named "out"', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'ui-1');
    expect(check(laying(b, () => b.cable([s, 'signal'], [c, 'ui-1'])).ctx)).toEqual([
      expect.objectContaining({ code: 'CABLE_PORT_UNKNOWN', assetIds: [s, c], path: '/a/port' }),
    ]);
  });

  it('re-checks the cables of an asset whose model changes', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, null, { model: 'kelvo-dc-16', config: { ip: '10.20.0.40' } });
    b.cable([gw, 'eth0'], [c, 'eth0']);
    const ctx = b.change((g) => {
      g.assets.get(c)!.modelId = 'kelvo-dc-8';
    }, [c]);
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'CABLE_PORT_UNKNOWN', assetIds: [c, gw], path: '/b/port' })]);
  });

  it('refuses a second cable on a point channel', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { name: 'C-1' });
    const s1 = b.sensor(c, 'ui-1');
    const s2 = b.sensor(c, 'ui-2');
    b.cable([s1, 'out'], [c, 'ui-1']);
    const v = check(laying(b, () => b.cable([s2, 'out'], [c, 'ui-1'])).ctx);
    expect(v).toEqual([
      expect.objectContaining({ code: 'PORT_CAPACITY_EXCEEDED', severity: 'error', assetIds: [c, s1, s2] }),
    ]);
    expect(v[0].message).toContain('ui-1 of controller C-1 has 2 cables');
  });

  it('accepts the second sensor on its own channel', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s1 = b.sensor(c, 'ui-1');
    const s2 = b.sensor(c, 'ui-2');
    b.cable([s1, 'out'], [c, 'ui-1']);
    expect(check(laying(b, () => b.cable([s2, 'out'], [c, 'ui-2'])).ctx)).toEqual([]);
  });

  it('lets a device\'s RS-485 port daisy-chain the bus in and out, but not take a third cable', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1');
    const m2 = b.meter(gw, 'rs485-1');
    const m3 = b.meter(gw, 'rs485-1');
    b.cable([gw, 'rs485-1'], [m1, 'com']);
    const chain = laying(b, () => b.cable([m1, 'com'], [m2, 'com']));
    expect(check(chain.ctx)).toEqual([]);
    b.graph.connections.set(chain.id, chain.ctx.candidate.connections.get(chain.id)!);
    const { ctx } = laying(b, () => b.cable([m1, 'com'], [m3, 'com']));
    expect(check(ctx)).toEqual([expect.objectContaining({ code: 'PORT_CAPACITY_EXCEEDED', assetIds: [m1, gw, m2, m3] })]);
  });

  it('lets a gateway bus port take cables up to its capacity and not one more', () => {
    const b = new SiteBuilder();
    const gw = b.gateway(); // rs485-1: capacity 32
    for (let i = 0; i < 31; i++) b.cable([gw, 'rs485-1'], [b.meter(gw, 'rs485-1'), 'com']);
    const m32 = b.meter(gw, 'rs485-1');
    const m33 = b.meter(gw, 'rs485-1');
    const atCapacity = laying(b, () => b.cable([gw, 'rs485-1'], [m32, 'com']));
    expect(check(atCapacity.ctx)).toEqual([]);
    b.graph.connections.set(atCapacity.id, atCapacity.ctx.candidate.connections.get(atCapacity.id)!);
    const v = check(laying(b, () => b.cable([gw, 'rs485-1'], [m33, 'com'])).ctx);
    expect(v.map((x) => [x.code, x.assetIds[0], x.assetIds.length])).toEqual([['PORT_CAPACITY_EXCEEDED', gw, 34]]);
  });

  it('refuses a second cable on an Ethernet port', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c1 = b.controller(gw, null, { model: 'kelvo-dc-16', config: { ip: '10.20.0.40' } });
    const c2 = b.controller(gw, null, { model: 'kelvo-dc-16', config: { ip: '10.20.0.41' } });
    b.cable([gw, 'eth0'], [c1, 'eth0']);
    const v = check(laying(b, () => b.cable([c2, 'eth0'], [gw, 'eth0'])).ctx);
    expect(v).toEqual([expect.objectContaining({ code: 'PORT_CAPACITY_EXCEEDED', assetIds: [gw, c1, c2] })]);
    expect(v[0].message).toContain('network switch');
  });

  it('refuses an RS-485 bus landed on an analog input', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { name: 'C-1' });
    const v = check(laying(b, () => b.cable([gw, 'rs485-1'], [c, 'ui-1'])).ctx);
    expect(v).toEqual([expect.objectContaining({ code: 'CABLE_PORT_MISMATCH', severity: 'error', assetIds: [gw, c] })]);
    expect(v[0].message).toContain('rs485 port rs485-1 of gateway');
    expect(v[0].message).toContain('ai port ui-1 of controller C-1');
  });

  it('refuses Ethernet to RS-485', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-1');
    expect(check(laying(b, () => b.cable([gw, 'eth0'], [m, 'com'])).ctx)).toEqual([
      expect.objectContaining({ code: 'CABLE_PORT_MISMATCH', assetIds: [gw, m] }),
    ]);
  });

  it('refuses two outputs wired together, and a sensor wired to an output', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c1 = b.controller(gw, 'rs485-1');
    const c2 = b.controller(gw, 'rs485-1');
    const s = b.sensor(c1, 'ui-1');
    expect(check(laying(b, () => b.cable([c1, 'ao-1'], [c2, 'ao-1'])).ctx)).toEqual([
      expect.objectContaining({ code: 'CABLE_PORT_MISMATCH', assetIds: [c1, c2] }),
    ]);
    expect(check(laying(b, () => b.cable([s, 'out'], [c1, 'do-1'])).ctx)).toEqual([
      expect.objectContaining({ code: 'CABLE_PORT_MISMATCH', assetIds: [s, c1] }),
    ]);
  });

  it('accepts an analog output of one controller wired to an input of another', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c1 = b.controller(gw, 'rs485-1');
    const c2 = b.controller(gw, 'rs485-1');
    expect(check(laying(b, () => b.cable([c1, 'ao-1'], [c2, 'ui-3'])).ctx)).toEqual([]);
  });

  it('ignores cables the change does not reach', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    b.cable([gw, 'rs485-1'], [c, 'ui-1']); // wrong, but untouched
    const m = b.meter(gw, 'rs485-2');
    expect(check(laying(b, () => b.cable([gw, 'rs485-2'], [m, 'com'])).ctx)).toEqual([]);
  });
});
