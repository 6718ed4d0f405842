import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { controlLoopRefs } from './control-loop-refs.ts';

interface Loop {
  name: string;
  inputSensorId: string;
  outputChannel: string;
  setpoint: number;
}

const CHANNELS = { channels: { 'ui-1': { signal: '4-20mA' }, 'ui-2': { signal: '4-20mA' } } };

/** Controller C-1 runs loop "Supply temp" on its sensor T-1 (ui-1) driving ao-1; C-2 holds sensor T-2. */
function site() {
  const b = new SiteBuilder();
  const gw = b.gateway();
  const c = b.controller(gw, 'rs485-1', { name: 'C-1', config: CHANNELS });
  const c2 = b.controller(gw, 'rs485-1', { name: 'C-2', config: CHANNELS });
  const t1 = b.sensor(c, 'ui-1', { name: 'T-1' });
  const t2 = b.sensor(c2, 'ui-1', { name: 'T-2' });
  b.asset(c).config.loops = [loop(t1)];
  return { b, gw, c, c2, t1, t2 };
}

const loop = (inputSensorId: string, outputChannel = 'ao-1', name = 'Supply temp'): Loop => ({ name, inputSensorId, outputChannel, setpoint: 21 });

const setLoops = (b: SiteBuilder, c: string, loops: Loop[]) =>
  b.change((g) => {
    g.assets.get(c)!.config.loops = loops;
  }, [c]);

describe('control-loop-refs', () => {
  it('passes a default site with a gateway, controllers, sensors and a loop', () => {
    const { b, gw } = site();
    b.meter(gw, 'rs485-1');
    expect(controlLoopRefs.check(b.whole())).toEqual([]);
  });

  it('refuses a loop whose input sensor is wired to another controller', () => {
    const { b, c, t2 } = site();
    const v = controlLoopRefs.check(setLoops(b, c, [loop(t2)]));
    expect(v).toHaveLength(1);
    expect(v[0]).toMatchObject({
      rule: 'control-loop-refs',
      code: 'LOOP_SENSOR_NOT_WIRED',
      severity: 'error',
      assetIds: [c, t2],
      path: '/loops/0/inputSensorId',
    });
    expect(v[0].message).toContain('wired to controller C-2');
  });

  it("accepts a loop on a sensor wired to the controller's own channel", () => {
    const { b, c, t1 } = site();
    expect(controlLoopRefs.check(setLoops(b, c, [loop(t1)]))).toEqual([]);
  });

  it('refuses a loop on a sensor that does not exist, or on an asset that is not a sensor', () => {
    const { b, gw, c } = site();
    const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
    const ghost = '00000000-0000-4000-8000-000000000000';
    const v = controlLoopRefs.check(setLoops(b, c, [loop(ghost, 'ao-1'), loop(m, 'ao-2')]));
    expect(v.map((x) => [x.code, x.assetIds, x.path])).toEqual([
      ['LOOP_SENSOR_NOT_WIRED', [c], '/loops/0/inputSensorId'],
      ['LOOP_SENSOR_NOT_WIRED', [c, m], '/loops/1/inputSensorId'],
    ]);
    expect(v[1].message).toContain('meter M-1, which is not a sensor');
  });

  it("flags the loop's controller when its sensor is moved to another controller", () => {
    const { b, c, c2, t1 } = site();
    const ctx = b.change((g) => {
      Object.assign(g.assets.get(t1)!, { parentId: c2, port: 'ui-2' });
    }, [t1]);
    const v = controlLoopRefs.check(ctx);
    expect(v).toEqual([expect.objectContaining({ code: 'LOOP_SENSOR_NOT_WIRED', severity: 'error', assetIds: [t1, c] })]);
    expect(v[0].path).toBeUndefined();
  });

  it("flags the loop's controller when its sensor is deleted", () => {
    const { b, c, t1 } = site();
    const ctx = b.change((g) => {
      g.assets.delete(t1);
    }, [t1]);
    const v = controlLoopRefs.check(ctx);
    expect(v).toEqual([expect.objectContaining({ code: 'LOOP_SENSOR_NOT_WIRED', severity: 'error', assetIds: [t1, c] })]);
    expect(v[0].message).toContain('which this change deletes');
  });

  it('accepts moving the sensor to another channel of the same controller', () => {
    const { b, t1 } = site();
    const ctx = b.change((g) => {
      g.assets.get(t1)!.port = 'ui-2';
    }, [t1]);
    expect(controlLoopRefs.check(ctx)).toEqual([]);
  });

  it('reports a moved sensor once when its controller changes in the same change', () => {
    const { b, c, c2, t1 } = site();
    const ctx = b.change((g) => {
      Object.assign(g.assets.get(t1)!, { parentId: c2, port: 'ui-2' });
      g.assets.get(c)!.config.pollIntervalMs = 20000;
    }, [t1, c]);
    expect(controlLoopRefs.check(ctx)).toEqual([
      expect.objectContaining({ code: 'LOOP_SENSOR_NOT_WIRED', assetIds: [c, t1], path: '/loops/0/inputSensorId' }),
    ]);
  });

  it("refuses a loop output the controller's model does not have, or that is an input", () => {
    const { b, c, t1 } = site();
    const v = controlLoopRefs.check(setLoops(b, c, [loop(t1, 'ao-9', 'A'), loop(t1, 'ui-2', 'B')]));
    expect(v.map((x) => [x.code, x.severity, x.assetIds, x.path])).toEqual([
      ['LOOP_OUTPUT_MISSING', 'error', [c], '/loops/0/outputChannel'],
      ['LOOP_OUTPUT_MISSING', 'error', [c], '/loops/1/outputChannel'],
    ]);
    expect(v[0].message).toContain('ao-1, ao-2, ao-3, ao-4, do-1');
    expect(v[1].message).toContain('is an input');
  });

  it('accepts a loop driving a relay output', () => {
    const { b, c, t1 } = site();
    expect(controlLoopRefs.check(setLoops(b, c, [loop(t1, 'do-1')]))).toEqual([]);
  });

  it('refuses two loops driving the same output', () => {
    const { b, c, t1 } = site();
    const v = controlLoopRefs.check(setLoops(b, c, [loop(t1, 'ao-1', 'Heating'), loop(t1, 'ao-1', 'Cooling')]));
    expect(v).toEqual([
      expect.objectContaining({ code: 'LOOP_OUTPUT_SHARED', severity: 'error', assetIds: [c], path: '/loops/1/outputChannel' }),
    ]);
    expect(v[0].message).toContain('"Heating" and "Cooling"');
  });

  it('accepts two loops on separate outputs', () => {
    const { b, c, t1 } = site();
    expect(controlLoopRefs.check(setLoops(b, c, [loop(t1, 'ao-1', 'Heating'), loop(t1, 'ao-2', 'Cooling')]))).toEqual([]);
  });

  it('ignores broken loops on controllers the change does not touch', () => {
    const { b, c2, t1, t2 } = site();
    b.asset(c2).config.loops = [loop(t1, 'ao-9')];
    const ctx = b.change((g) => {
      g.assets.get(t2)!.config.calibrationOffset = 0.3;
    }, [t2]);
    expect(controlLoopRefs.check(ctx)).toEqual([]);
  });
});
