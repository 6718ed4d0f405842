import { describe, it, expect } from 'vitest';
import type { ConfigDoc } from '../graph/types.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { meterCt } from './meter-ct.ts';

/** EM-340 meter M-1: 100 A / 5 A CTs on an 80 A three-phase circuit. */
function site() {
  const b = new SiteBuilder();
  const gw = b.gateway();
  const m = b.meter(gw, 'rs485-1', { name: 'M-1' });
  return { b, gw, m };
}

const setMeter = (b: SiteBuilder, m: string, patch: ConfigDoc, model?: string) =>
  b.change((g) => {
    const a = g.assets.get(m)!;
    Object.assign(a.config, patch);
    if (model) a.modelId = model;
  }, [m]);

const codes = (v: ReturnType<typeof meterCt.check>) => v.map((x) => [x.code, x.severity, x.assetIds, x.path]);

describe('meter-ct', () => {
  it('passes a default site with a gateway and meters of every model', () => {
    const { b, gw } = site();
    for (const model of ['voltis-em-110', 'voltis-em-350-mv', 'ampera-pm-5560']) b.meter(gw, 'rs485-2', { model });
    b.controller(gw, 'rs485-1');
    expect(meterCt.check(b.whole())).toEqual([]);
  });

  it('refuses a CT secondary the meter inputs do not accept', () => {
    const { b, m } = site();
    const v = meterCt.check(setMeter(b, m, { ct: { primaryA: 100, secondary: '333mV' } }));
    expect(codes(v)).toEqual([['CT_SECONDARY_UNSUPPORTED', 'error', [m], '/ct/secondary']]);
    expect(v[0].message).toContain('accept only 5A, 1A');
  });

  it('accepts a 1 A secondary on a meter with 5 A / 1 A inputs', () => {
    const { b, m } = site();
    expect(meterCt.check(setMeter(b, m, { ct: { primaryA: 100, secondary: '1A' } }))).toEqual([]);
  });

  it('refuses 5 A CTs on a millivolt-input meter and accepts 333 mV ones', () => {
    const { b, m } = site();
    expect(codes(meterCt.check(setMeter(b, m, {}, 'voltis-em-350-mv')))[0][0]).toBe('CT_SECONDARY_UNSUPPORTED');
    expect(meterCt.check(setMeter(b, m, { ct: { primaryA: 100, secondary: '333mV' } }, 'voltis-em-350-mv'))).toEqual([]);
  });

  it("refuses a CT primary below the circuit's rated current", () => {
    const { b, m } = site();
    const v = meterCt.check(setMeter(b, m, { ratedCurrentA: 125 }));
    expect(codes(v)).toEqual([['CT_PRIMARY_BELOW_RATED', 'error', [m], '/ct/primaryA']]);
    expect(v[0].message).toContain('at least 125 A');
  });

  it('accepts a CT primary equal to the rated current', () => {
    const { b, m } = site();
    expect(meterCt.check(setMeter(b, m, { ratedCurrentA: 100 }))).toEqual([]);
  });

  it('warns about a CT primary more than four times the rated current', () => {
    const { b, m } = site();
    const v = meterCt.check(setMeter(b, m, { ct: { primaryA: 400, secondary: '5A' }, ratedCurrentA: 80 }));
    expect(codes(v)).toEqual([['CT_PRIMARY_OVERSIZED', 'warning', [m], '/ct/primaryA']]);
    expect(v[0].message).toContain('only 20 %');
  });

  it('accepts a CT primary of exactly four times the rated current', () => {
    const { b, m } = site();
    expect(meterCt.check(setMeter(b, m, { ct: { primaryA: 320, secondary: '5A' }, ratedCurrentA: 80 }))).toEqual([]);
  });

  it('refuses more phases than the meter model measures', () => {
    const { b, m } = site();
    const v = meterCt.check(setMeter(b, m, { phases: 3 }, 'voltis-em-110'));
    expect(codes(v)).toEqual([['PHASES_UNSUPPORTED', 'error', [m], '/phases']]);
  });

  it('accepts a single-phase configuration on a single-phase meter', () => {
    const { b, m } = site();
    expect(meterCt.check(setMeter(b, m, { phases: 1 }, 'voltis-em-110'))).toEqual([]);
  });

  it('reports every CT problem of a meter at once', () => {
    const { b, m } = site();
    const v = meterCt.check(setMeter(b, m, { ct: { primaryA: 50, secondary: '333mV' }, phases: 3 }, 'voltis-em-110'));
    expect(v.map((x) => x.code)).toEqual(['CT_SECONDARY_UNSUPPORTED', 'CT_PRIMARY_BELOW_RATED', 'PHASES_UNSUPPORTED']);
  });

  it('ignores meters the change does not touch', () => {
    const { b, gw, m } = site();
    b.meter(gw, 'rs485-1', { config: { ratedCurrentA: 500 } });
    expect(meterCt.check(setMeter(b, m, { pollIntervalMs: 30000 }))).toEqual([]);
  });
});
