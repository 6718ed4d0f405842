import { describe, it, expect } from 'vitest';
import { SiteBuilder } from '../testing/site-builder.ts';
import { sensorSignalMatch } from './sensor-signal-match.ts';

/** Controller C-1 with ui-1 for 4–20 mA (TT-420 T-1 on it), ui-2 for 0–10 V, ui-4 for NTC; ui-3 unconfigured. */
function site() {
  const b = new SiteBuilder();
  const gw = b.gateway();
  const c = b.controller(gw, 'rs485-1', {
    name: 'C-1',
    config: { channels: { 'ui-1': { signal: '4-20mA' }, 'ui-2': { signal: '0-10V' }, 'ui-4': { signal: 'ntc10k' } } },
  });
  const t1 = b.sensor(c, 'ui-1', { name: 'T-1' });
  return { b, gw, c, t1 };
}

type Channels = Record<string, { signal: string }>;
const setChannels = (b: SiteBuilder, c: string, edit: (ch: Channels) => void) =>
  b.change((g) => {
    const config = g.assets.get(c)!.config;
    const channels = structuredClone(config.channels) as Channels;
    edit(channels);
    config.channels = channels;
  }, [c]);

describe('sensor-signal-match', () => {
  it('passes a default site with a gateway, a controller and a matching sensor', () => {
    const { b, gw } = site();
    b.meter(gw, 'rs485-1');
    expect(sensorSignalMatch.check(b.whole())).toEqual([]);
  });

  it('refuses a 0–10 V sensor wired to a channel configured for 4–20 mA', () => {
    const { b, c } = site();
    const h = b.sensor(c, 'ui-1', { model: 'humix-rh-10v', name: 'H-1' });
    const v = sensorSignalMatch.check(b.change(() => {}, [h]));
    expect(v).toEqual([
      expect.objectContaining({ rule: 'sensor-signal-match', code: 'SIGNAL_MISMATCH', severity: 'error', assetIds: [h, c], path: '/outputSignal' }),
    ]);
  });

  it('accepts the 0–10 V sensor on the channel configured for 0–10 V', () => {
    const { b, c } = site();
    const h = b.sensor(c, 'ui-2', { model: 'humix-rh-10v' });
    expect(sensorSignalMatch.check(b.change(() => {}, [h]))).toEqual([]);
  });

  it('refuses a PT1000 probe on an input configured for NTC 10k', () => {
    const { b, c } = site();
    const p = b.sensor(c, 'ui-4', { model: 'thermia-pt1000-duct' });
    expect(sensorSignalMatch.check(b.change(() => {}, [p]))).toEqual([
      expect.objectContaining({ code: 'SIGNAL_MISMATCH', assetIds: [p, c] }),
    ]);
  });

  it('refuses switching a dual-output transmitter to a signal its channel is not configured for', () => {
    const { b, c } = site();
    const p = b.sensor(c, 'ui-1', { model: 'presso-dp-2500', config: { outputSignal: '4-20mA' } });
    const ctx = b.change((g) => {
      g.assets.get(p)!.config.outputSignal = '0-10V';
    }, [p]);
    expect(sensorSignalMatch.check(ctx)).toEqual([expect.objectContaining({ code: 'SIGNAL_MISMATCH', assetIds: [p, c] })]);
  });

  it("flags the wired sensor when a channel's signal is changed on the controller", () => {
    const { b, c, t1 } = site();
    const v = sensorSignalMatch.check(setChannels(b, c, (ch) => (ch['ui-1'] = { signal: '0-10V' })));
    expect(v).toEqual([
      expect.objectContaining({ code: 'SIGNAL_MISMATCH', severity: 'error', assetIds: [c, t1], path: '/channels/ui-1/signal' }),
    ]);
  });

  it('accepts changing the signal of a channel nothing is wired to', () => {
    const { b, c } = site();
    expect(sensorSignalMatch.check(setChannels(b, c, (ch) => (ch['ui-3'] = { signal: '0-10V' })))).toEqual([]);
  });

  it('refuses a sensor wired to a channel with no signal configured', () => {
    const { b, c } = site();
    const t = b.sensor(c, 'ui-3');
    const v = sensorSignalMatch.check(b.change(() => {}, [t]));
    expect(v).toEqual([expect.objectContaining({ code: 'CHANNEL_NOT_CONFIGURED', severity: 'error', assetIds: [t, c] })]);
    expect(v[0].path).toBeUndefined();
    expect(v[0].message).toContain('to 4-20mA');
  });

  it('refuses removing the configuration of a channel a sensor is wired to', () => {
    const { b, c, t1 } = site();
    const v = sensorSignalMatch.check(setChannels(b, c, (ch) => delete ch['ui-1']));
    expect(v).toEqual([
      expect.objectContaining({ code: 'CHANNEL_NOT_CONFIGURED', severity: 'error', assetIds: [c, t1], path: '/channels/ui-1' }),
    ]);
  });

  it('accepts the sensor once its channel is configured for its signal', () => {
    const { b, c } = site();
    b.sensor(c, 'ui-3');
    expect(sensorSignalMatch.check(setChannels(b, c, (ch) => (ch['ui-3'] = { signal: '4-20mA' })))).toEqual([]);
  });

  it('refuses a channel configured for a signal its hardware does not support', () => {
    const { b, c } = site();
    const v = sensorSignalMatch.check(setChannels(b, c, (ch) => (ch['ao-1'] = { signal: '4-20mA' })));
    expect(v).toEqual([
      expect.objectContaining({ code: 'CHANNEL_SIGNAL_UNSUPPORTED', severity: 'error', assetIds: [c], path: '/channels/ao-1/signal' }),
    ]);
    expect(v[0].message).toContain('supports 0-10V');
  });

  it('accepts the analog output configured for 0–10 V', () => {
    const { b, c } = site();
    expect(sensorSignalMatch.check(setChannels(b, c, (ch) => (ch['ao-1'] = { signal: '0-10V' })))).toEqual([]);
  });

  it('accepts 4–20 mA on an analog output of a model that supports it', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const c = b.controller(gw, 'rs485-1', { model: 'kelvo-dc-16' });
    expect(sensorSignalMatch.check(setChannels(b, c, (ch) => (ch['ao-1'] = { signal: '4-20mA' })))).toEqual([]);
  });

  it('names the sensor wired to an unsupported channel, once, when controller and sensor change together', () => {
    const { b, c, t1 } = site();
    const ctx = b.change((g) => {
      (g.assets.get(c)!.config.channels as Channels)['ui-1'] = { signal: 'relay' };
      g.assets.get(t1)!.config.calibrationOffset = 1;
    }, [c, t1]);
    expect(sensorSignalMatch.check(ctx)).toEqual([
      expect.objectContaining({ code: 'CHANNEL_SIGNAL_UNSUPPORTED', assetIds: [c, t1], path: '/channels/ui-1/signal' }),
    ]);
  });

  it('refuses a sensor wired to an unsupported channel of an unchanged controller', () => {
    const { b, c } = site();
    (b.asset(c).config.channels as Channels)['ui-5'] = { signal: 'relay' };
    const t = b.sensor(c, 'ui-5');
    expect(sensorSignalMatch.check(b.change(() => {}, [t]))).toEqual([
      expect.objectContaining({ code: 'CHANNEL_SIGNAL_UNSUPPORTED', severity: 'error', assetIds: [t, c] }),
    ]);
  });

  it('reports a mismatch once when the sensor and its controller change together', () => {
    const { b, c, t1 } = site();
    const ctx = b.change((g) => {
      (g.assets.get(c)!.config.channels as Channels)['ui-1'] = { signal: '0-10V' };
      g.assets.get(t1)!.config.calibrationOffset = 1;
    }, [c, t1]);
    expect(sensorSignalMatch.check(ctx)).toEqual([expect.objectContaining({ code: 'SIGNAL_MISMATCH', assetIds: [t1, c] })]);
  });

  it('ignores mismatched sensors the change does not touch', () => {
    const { b, c } = site();
    b.sensor(c, 'ui-2');
    const t = b.sensor(c, 'ui-5');
    (b.asset(c).config.channels as Channels)['ui-5'] = { signal: '4-20mA' };
    expect(sensorSignalMatch.check(b.change(() => {}, [t]))).toEqual([]);
  });

  it('ignores Modbus sensors on a gateway bus', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const s = b.sensor(gw, 'rs485-1', { model: 'airq-co2-mb' });
    expect(sensorSignalMatch.check(b.change(() => {}, [s]))).toEqual([]);
  });
});
