import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { channelSingleSensor } from './channel-single-sensor.ts';

const CHANNELS = { channels: { 'ui-1': { signal: '4-20mA' }, 'ui-2': { signal: '4-20mA' } } };

/** A controller with sensor T-1 on ui-1 (deployed) and T-2 on ui-2. */
function site() {
  const b = new SiteBuilder();
  const gw = b.gateway();
  const c = b.controller(gw, 'rs485-1', { name: 'C-1', config: CHANNELS });
  const t1 = b.sensor(c, 'ui-1', { name: 'T-1', deployed: true });
  const t2 = b.sensor(c, 'ui-2', { name: 'T-2' });
  return { b, gw, c, t1, t2 };
}

const moveTo = (b: SiteBuilder, id: string, parentId: string, port: string) =>
  b.change((g) => {
    Object.assign(g.assets.get(id)!, { parentId, port });
  }, [id]);

describe('channel-single-sensor', () => {
  it('passes a default site with a gateway, a controller and sensors on separate channels', () => {
    const { b, gw } = site();
    b.meter(gw, 'rs485-1');
    expect(channelSingleSensor.check(b.whole())).toEqual([]);
  });

  it('refuses a second sensor on a channel that already holds one', () => {
    const { b, c, t1, t2 } = site();
    const v = channelSingleSensor.check(moveTo(b, t2, c, 'ui-1'));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({ rule: 'channel-single-sensor', code: 'CHANNEL_TAKEN', severity: 'error', assetIds: [t2, t1] });
    expect(v[0].message).toContain('channel ui-1 of controller C-1');
    expect(v[0].message).toContain('free: ui-2, ui-3, ui-4');
  });

  it('accepts the same sensor on a free channel', () => {
    const { b, c, t2 } = site();
    expect(channelSingleSensor.check(moveTo(b, t2, c, 'ui-3'))).toEqual([]);
  });

  it('accepts the same channel number on another controller', () => {
    const { b, gw, t2 } = site();
    const other = b.controller(gw, 'rs485-1', { config: CHANNELS });
    expect(channelSingleSensor.check(moveTo(b, t2, other, 'ui-1'))).toEqual([]);
  });

  it('refuses a channel a sensor still occupies until its move is acknowledged, and accepts it afterwards', () => {
    const { b, c, t1, t2 } = site();
    // T-1 is moved to ui-3 but its device has not acknowledged: it still sits on ui-1.
    const a = b.asset(t1);
    Object.assign(a, { port: 'ui-3', configVersion: 2 });
    const v = channelSingleSensor.check(moveTo(b, t2, c, 'ui-1'));
    expect(v).toEqual([expect.objectContaining({ code: 'CHANNEL_TAKEN', severity: 'error', assetIds: [t2, t1] })]);
    expect(v[0].message).toContain('still deployed on sensor T-1 (version 1) until its device acknowledges the new configuration');
    a.deployed = { version: 2, parentId: c, port: 'ui-3', config: structuredClone(a.config) };
    expect(channelSingleSensor.check(moveTo(b, t2, c, 'ui-1'))).toEqual([]);
  });

  it('does not report a sensor against its own still-deployed placement', () => {
    const { b, c, t1 } = site();
    const ctx = b.change((g) => {
      g.assets.get(t1)!.config.calibrationOffset = 0.5;
    }, [t1]);
    expect(ctx.index.claimsOnPort(c, 'ui-1')).toHaveLength(2);
    expect(channelSingleSensor.check(ctx)).toEqual([]);
  });

  it('reports two sensors moved onto one free channel once', () => {
    const { b, t1, t2 } = site();
    const ctx = b.change((g) => {
      Object.assign(g.assets.get(t1)!, { port: 'ui-4' });
      Object.assign(g.assets.get(t2)!, { port: 'ui-4' });
    }, [t1, t2]);
    expect(channelSingleSensor.check(ctx).map((v) => v.assetIds)).toEqual([[t1, t2]]);
  });

  it('reports every other sensor on the channel', () => {
    const { b, c, t1, t2 } = site();
    const t3 = b.sensor(c, 'ui-1', { name: 'T-3' });
    const v = channelSingleSensor.check(moveTo(b, t2, c, 'ui-1'));
    expect(v.map((x) => x.assetIds)).toEqual([
      [t2, t1],
      [t2, t3],
    ]);
  });

  it('ignores a doubled channel the change does not touch', () => {
    const { b, c, t2 } = site();
    b.sensor(c, 'ui-1');
    const ctx = b.change((g) => {
      g.assets.get(t2)!.config.calibrationOffset = 0.2;
    }, [t2]);
    expect(channelSingleSensor.check(ctx)).toEqual([]);
  });

  it('ignores Modbus sensors sharing a gateway bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' });
    const s = b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' });
    expect(channelSingleSensor.check(moveTo(b, s, gw, 'rs485-1'))).toEqual([]);
  });
});
