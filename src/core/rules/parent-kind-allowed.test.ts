import { describe, expect, it } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { parentKindAllowed } from './parent-kind-allowed.ts';

const touch = (b: SiteBuilder, ...ids: string[]) => parentKindAllowed.check(b.change(() => {}, ids));
const codes = (vs: ReturnType<typeof touch>) => vs.map((v) => v.code);

describe('parent-kind-allowed', () => {
  it('accepts a default site with a gateway, devices on its buses and a wired sensor', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'rs485-1');
    const c = b.controller(gw, 'rs485-2');
    b.sensor(c, 'ui-1');
    b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' });
    expect(parentKindAllowed.check(b.whole())).toEqual([]);
  });

  it('refuses a meter without a parent', () => {
    const b = new SiteBuilder();
    const m = b.add('meter', null, null);
    const [v, ...rest] = touch(b, m);
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'parent-kind-allowed', code: 'PARENT_REQUIRED', severity: 'error', assetIds: [m] });
  });

  it('accepts a meter on an RS-485 port of its gateway', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-2');
    expect(touch(b, m)).toEqual([]);
  });

  it('refuses a gateway that has a parent, naming both gateways', () => {
    const b = new SiteBuilder();
    const gw1 = b.gateway();
    const gw2 = b.add('gateway', gw1, null);
    expect(touch(b, gw2)).toMatchObject([{ code: 'PARENT_KIND_NOT_ALLOWED', severity: 'error', assetIds: [gw2, gw1] }]);
  });

  it('refuses a gateway that names a port without having a parent', () => {
    const b = new SiteBuilder();
    const gw = b.add('gateway', null, 'rs485-1');
    expect(touch(b, gw)).toMatchObject([{ code: 'PORT_NOT_ON_PARENT', severity: 'error', assetIds: [gw] }]);
  });

  it('refuses a meter hung under another meter', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m1 = b.meter(gw, 'rs485-1');
    const m2 = b.meter(m1, 'com');
    expect(touch(b, m2)).toMatchObject([{ code: 'PARENT_KIND_NOT_ALLOWED', severity: 'error', assetIds: [m2, m1] }]);
  });

  it('refuses a 4–20 mA sensor on a gateway bus, since only Modbus sensors can sit there', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const s = b.sensor(gw, 'rs485-1');
    const vs = touch(b, s);
    expect(vs).toMatchObject([{ code: 'PARENT_KIND_NOT_ALLOWED', severity: 'error', assetIds: [s, gw] }]);
    expect(vs[0].message).toContain('not Modbus RTU');
  });

  it('accepts a Modbus RTU sensor on a gateway bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const s = b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' });
    expect(touch(b, s)).toEqual([]);
  });

  it('refuses a sensor under a controller without a channel', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, null);
    expect(touch(b, s)).toMatchObject([{ code: 'PORT_REQUIRED', severity: 'error', assetIds: [s, c] }]);
  });

  it('accepts a sensor wired to an input channel of a controller', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'ui-3');
    expect(touch(b, s)).toEqual([]);
  });

  it('refuses a meter on a port its gateway model does not have', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'rs485-3');
    const vs = touch(b, m);
    expect(vs).toMatchObject([{ code: 'PORT_NOT_ON_PARENT', severity: 'error', assetIds: [m, gw] }]);
    expect(vs[0].message).toContain('rs485-1, rs485-2');
  });

  it('accepts the same port on a gateway model that has it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway({ model: 'nexa-gw-400' });
    const m = b.meter(gw, 'rs485-3');
    expect(touch(b, m)).toEqual([]);
  });

  it('refuses a meter on the Ethernet port of a gateway', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'eth0');
    expect(touch(b, m)).toMatchObject([{ code: 'PORT_TYPE_NOT_ALLOWED', severity: 'error', assetIds: [m, gw] }]);
  });

  it('refuses a sensor wired to a relay output of a controller', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'do-1');
    expect(touch(b, s)).toMatchObject([{ code: 'PORT_TYPE_NOT_ALLOWED', severity: 'error', assetIds: [s, c] }]);
  });

  it('refuses a meter on IP when its model has no Ethernet port', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, null, { config: { ip: '10.20.0.50' } });
    expect(touch(b, m)).toMatchObject([{ code: 'IP_ATTACHMENT_UNSUPPORTED', severity: 'error', assetIds: [m, gw] }]);
  });

  it('accepts a meter on IP when its model has an Ethernet port', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, null, { model: 'ampera-pm-5560', config: { ip: '10.20.0.50' } });
    expect(touch(b, m)).toEqual([]);
  });

  it('reports every misplaced asset the change touched, not only the first', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const m = b.meter(gw, 'eth0');
    const s = b.sensor(gw, 'rs485-1');
    expect(codes(touch(b, m, s)).sort()).toEqual(['PARENT_KIND_NOT_ALLOWED', 'PORT_TYPE_NOT_ALLOWED']);
  });

  it('re-checks the children of a touched parent', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1');
    const s = b.sensor(c, 'do-2');
    expect(touch(b, c)).toMatchObject([{ code: 'PORT_TYPE_NOT_ALLOWED', assetIds: [s, c] }]);
  });

  it('ignores misplaced assets the change did not reach', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.meter(gw, 'eth0');
    const ok = b.meter(gw, 'rs485-1');
    expect(touch(b, ok)).toEqual([]);
  });

  it('leaves a parent outside the site to same-site', () => {
    const b = new SiteBuilder();
    const m = b.meter('00000000-0000-4000-8000-000000000000', 'rs485-1');
    expect(touch(b, m)).toEqual([]);
  });
});
