import { describe, expect, it } from 'vitest';
import type { ConfigDoc } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { busPollBudget, pollSeconds } from './bus-poll-budget.ts';

const EM_340 = { requestBytes: 8, responseBytes: 101, turnaroundMs: 25 };
const busOf = (b: SiteBuilder, gw: string) => (b.asset(gw).config.buses as Record<string, ConfigDoc>)['rs485-1'];

/** A gateway whose rs485-1 runs at `baud`, with `n` three-phase meters polled every `intervalMs`. */
function site(baud: number, n: number, intervalMs = 1000) {
  const b = new SiteBuilder();
  const gw = b.gateway({ name: 'GW-1' });
  busOf(b, gw).baud = baud;
  const serial = { baud, parity: 'even', stopBits: 1 };
  const ms = Array.from({ length: n }, () => b.meter(gw, 'rs485-1', { config: { pollIntervalMs: intervalMs, serial } }));
  return { b, gw, ms };
}

describe('bus-poll-budget', () => {
  it('computes one poll as frame time plus two silent gaps plus turnaround', () => {
    // (8 + 101) × 11 / 19200 + 2 × 3.5 × 11 / 19200 + 0.025
    expect(pollSeconds(EM_340, 19200)).toBeCloseTo(0.0914583, 6);
    // Above 19200 baud the gap is fixed at 1.75 ms: 1199 / 38400 + 0.0035 + 0.025
    expect(pollSeconds(EM_340, 38400)).toBeCloseTo(0.0597240, 6);
  });

  it('accepts a default site with meters polled every 15 s', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    for (let i = 0; i < 10; i++) b.meter(gw, 'rs485-1');
    b.controller(gw, 'rs485-2');
    b.sensor(gw, 'rs485-2', { model: 'airq-co2-mb' });
    expect(busPollBudget.check(b.whole())).toEqual([]);
  });

  it('refuses a sixth meter polled every second on a 9600 baud bus', () => {
    const { b, gw, ms } = site(9600, 5);
    const extra = b.meter(gw, 'rs485-1', { config: { pollIntervalMs: 1000, serial: { baud: 9600, parity: 'even', stopBits: 1 } } });
    const [v, ...rest] = busPollBudget.check(b.change(() => {}, [extra]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ rule: 'bus-poll-budget', code: 'BUS_UTILISATION_EXCEEDED', severity: 'error', assetIds: [extra, gw, ...ms] });
    expect(v.message).toMatch(/bus rs485-1 of gateway GW-1 would be busy 94\.[78] % of the time at 9600 baud polling 6 devices/);
    expect(v.message).toContain('157.9 ms per poll every 1000 ms');
    expect(v.message).toContain('Raise the poll intervals, raise the baud rate, or split the devices across buses');
  });

  it('accepts the same six meters on a 19200 baud bus', () => {
    const { b, ms } = site(19200, 6);
    expect(busPollBudget.check(b.change(() => {}, [ms[5]]))).toEqual([]);
  });

  it('warns when a bus is busy more than 60 % of the time', () => {
    const { b, gw, ms } = site(9600, 5);
    const [v, ...rest] = busPollBudget.check(b.change(() => {}, [ms[4]]));
    expect(rest).toEqual([]);
    expect(v).toMatchObject({ code: 'BUS_UTILISATION_HIGH', severity: 'warning', assetIds: [ms[4], gw, ...ms.slice(0, 4)] });
    expect(v.message).toContain('79.0 %');
  });

  it('accepts three meters polled every second at 9600 baud without a warning', () => {
    const { b, ms } = site(9600, 3);
    expect(busPollBudget.check(b.change(() => {}, [ms[2]]))).toEqual([]);
  });

  it('refuses lowering the baud rate of a bus that then cannot keep up, naming the gateway first', () => {
    const { b, gw, ms } = site(19200, 6);
    const ctx = b.change((g) => {
      (g.assets.get(gw)!.config.buses as Record<string, ConfigDoc>)['rs485-1'].baud = 9600;
    }, [gw]);
    expect(busPollBudget.check(ctx)).toMatchObject([{ code: 'BUS_UTILISATION_EXCEEDED', assetIds: [gw, ...ms] }]);
  });

  it("uses the gateway's poll interval for a device that has none of its own", () => {
    const { b, gw, ms } = site(9600, 6);
    for (const m of ms) delete b.asset(m).config.pollIntervalMs;
    b.asset(gw).config.pollIntervalMs = 30000;
    expect(busPollBudget.check(b.change(() => {}, [ms[0]]))).toEqual([]);
    b.asset(gw).config.pollIntervalMs = 1000;
    expect(busPollBudget.check(b.change(() => {}, [ms[0]])).map((v) => v.code)).toEqual(['BUS_UTILISATION_EXCEEDED']);
  });

  it('does not estimate a BACnet MS/TP bus', () => {
    const { b, gw, ms } = site(9600, 8);
    Object.assign(busOf(b, gw), { protocol: 'bacnet-mstp', parity: 'none' });
    expect(busPollBudget.check(b.change(() => {}, [ms[0]]))).toEqual([]);
  });

  it('ignores an overloaded bus the change did not reach', () => {
    const { b, gw } = site(9600, 8);
    const other = b.meter(gw, 'rs485-2');
    expect(busPollBudget.check(b.change(() => {}, [other]))).toEqual([]);
  });
});
