import { describe, it, expect } from 'vitest';
import type { ConfigDoc } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { setpointsInRange } from './setpoints-in-range.ts';

/** Controller C-1 with TT-420 sensor T-1 (-40…120 degC) on ui-1 and loop "Supply temp" at 21. */
function site() {
  const b = new SiteBuilder();
  const gw = b.gateway();
  const c = b.controller(gw, 'rs485-1', { name: 'C-1', config: { channels: { 'ui-1': { signal: '4-20mA' } } } });
  const t = b.sensor(c, 'ui-1', { name: 'T-1' });
  b.asset(c).config.loops = [{ name: 'Supply temp', inputSensorId: t, outputChannel: 'ao-1', setpoint: 21 }];
  return { b, gw, c, t };
}

const setSensor = (b: SiteBuilder, t: string, patch: ConfigDoc) =>
  b.change((g) => {
    Object.assign(g.assets.get(t)!.config, patch);
  }, [t]);

const setSetpoint = (b: SiteBuilder, c: string, setpoint: number) =>
  b.change((g) => {
    const loops = g.assets.get(c)!.config.loops as Array<{ setpoint: number }>;
    loops[0].setpoint = setpoint;
  }, [c]);

const codes = (v: ReturnType<typeof setpointsInRange.check>) => v.map((x) => [x.code, x.severity, x.assetIds, x.path]);

describe('setpoints-in-range', () => {
  it('passes a default site with a gateway, a controller, sensors and a loop', () => {
    const { b, gw } = site();
    b.meter(gw, 'rs485-1');
    b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    expect(setpointsInRange.check(b.whole())).toEqual([]);
  });

  it('refuses a configured range beyond what the sensor can measure, at each end', () => {
    const { b, t } = site();
    const v = setpointsInRange.check(setSensor(b, t, { range: { min: -50, max: 150 } }));
    expect(codes(v)).toEqual([
      ['RANGE_OUTSIDE_SENSOR', 'error', [t], '/range/min'],
      ['RANGE_OUTSIDE_SENSOR', 'error', [t], '/range/max'],
    ]);
    expect(v[0].message).toContain('-40…120 degC');
  });

  it("accepts a configured range narrower than the sensor's", () => {
    const { b, t } = site();
    expect(setpointsInRange.check(setSensor(b, t, { range: { min: -40, max: 100 } }))).toEqual([]);
  });

  it('refuses a range whose min is not below its max', () => {
    const { b, t } = site();
    expect(codes(setpointsInRange.check(setSensor(b, t, { range: { min: 100, max: 0 } })))).toEqual([
      ['RANGE_INVERTED', 'error', [t], '/range'],
    ]);
    expect(codes(setpointsInRange.check(setSensor(b, t, { range: { min: 50, max: 50 } })))[0][0]).toBe('RANGE_INVERTED');
  });

  it('accepts a range from 0 to 100', () => {
    const { b, t } = site();
    expect(setpointsInRange.check(setSensor(b, t, { range: { min: 0, max: 100 } }))).toEqual([]);
  });

  it('refuses alarm thresholds outside the configured range', () => {
    const { b, t } = site();
    const v = setpointsInRange.check(setSensor(b, t, { range: { min: 0, max: 100 }, alarms: { low: -5, high: 110 } }));
    expect(codes(v)).toEqual([
      ['ALARM_OUT_OF_RANGE', 'error', [t], '/alarms/low'],
      ['ALARM_OUT_OF_RANGE', 'error', [t], '/alarms/high'],
    ]);
  });

  it('accepts alarm thresholds at the ends of the configured range', () => {
    const { b, t } = site();
    expect(setpointsInRange.check(setSensor(b, t, { range: { min: 0, max: 100 }, alarms: { low: 0, high: 100 } }))).toEqual([]);
  });

  it('refuses a low alarm at or above the high alarm', () => {
    const { b, t } = site();
    expect(codes(setpointsInRange.check(setSensor(b, t, { alarms: { low: 80, high: 20 } })))).toEqual([
      ['ALARM_INVERTED', 'error', [t], '/alarms'],
    ]);
  });

  it('accepts a low alarm below the high alarm, and a single alarm', () => {
    const { b, t } = site();
    expect(setpointsInRange.check(setSensor(b, t, { alarms: { low: 20, high: 80 } }))).toEqual([]);
    expect(setpointsInRange.check(setSensor(b, t, { alarms: { high: 80 } }))).toEqual([]);
  });

  it("refuses a unit other than the model's, without comparing ranges across units", () => {
    const { b, t } = site();
    const v = setpointsInRange.check(setSensor(b, t, { unit: 'degF', range: { min: -40, max: 248 } }));
    expect(codes(v)).toEqual([['UNIT_MISMATCH', 'error', [t], '/unit']]);
    expect(v[0].message).toContain('Set unit to degC');
  });

  it("accepts the model's unit", () => {
    const { b, t } = site();
    expect(setpointsInRange.check(setSensor(b, t, { unit: 'degC' }))).toEqual([]);
  });

  it("refuses a loop setpoint outside its input sensor's configured range", () => {
    const { b, c, t } = site();
    const v = setpointsInRange.check(setSetpoint(b, c, 150));
    expect(codes(v)).toEqual([['SETPOINT_OUT_OF_RANGE', 'error', [c, t], '/loops/0/setpoint']]);
    expect(v[0].message).toContain('sensor T-1');
  });

  it('accepts a setpoint at the top of the range', () => {
    const { b, c } = site();
    expect(setpointsInRange.check(setSetpoint(b, c, 120))).toEqual([]);
  });

  it('flags the loop when its sensor range is narrowed below the setpoint', () => {
    const { b, c, t } = site();
    const v = setpointsInRange.check(setSensor(b, t, { range: { min: 0, max: 20 } }));
    expect(codes(v)).toEqual([['SETPOINT_OUT_OF_RANGE', 'error', [t, c], '/range']]);
  });

  it('reports a setpoint once when the sensor and its controller change together', () => {
    const { b, c, t } = site();
    const ctx = b.change((g) => {
      g.assets.get(t)!.config.range = { min: 0, max: 20 };
      g.assets.get(c)!.config.pollIntervalMs = 20000;
    }, [t, c]);
    expect(codes(setpointsInRange.check(ctx))).toEqual([['SETPOINT_OUT_OF_RANGE', 'error', [c, t], '/loops/0/setpoint']]);
  });

  it('ignores bad ranges and setpoints on assets the change does not touch', () => {
    const { b, c, t } = site();
    b.asset(t).config.range = { min: -100, max: 500 };
    (b.asset(c).config.loops as Array<{ setpoint: number }>)[0].setpoint = 900;
    const other = b.sensor(c, 'ui-2');
    expect(setpointsInRange.check(setSensor(b, other, { alarms: { high: 90 } }))).toEqual([]);
  });
});
