import { planCo2Sensor } from './co2-unit.ts';
import { planController } from './controller-unit.ts';
import { GatewayPlan } from './gateway-plan.ts';
import { planMeter } from './meter-unit.ts';
import type { PlannedUnit } from './plan-types.ts';
import type { Rng } from './prng.ts';
import type { SiteContext } from './site-context.ts';
import type { SiteProfile } from './site-identity.ts';

type UnitKind = 'meter' | 'meterIp' | 'co2' | 'room' | 'ahu' | 'plant' | 'plantIp';

/** Relative frequency of each kind of unit per building type (a controller unit is ~5 assets). */
const MIX: Record<SiteProfile, ReadonlyArray<readonly [UnitKind, number]>> = {
  office: [['meter', 3], ['meterIp', 0.3], ['co2', 2.5], ['room', 3], ['ahu', 0.8], ['plant', 0.3], ['plantIp', 0.1]],
  retail: [['meter', 4], ['meterIp', 0.3], ['co2', 1], ['room', 1.5], ['ahu', 0.8], ['plant', 0.3], ['plantIp', 0.1]],
  warehouse: [['meter', 5], ['meterIp', 0.5], ['co2', 0.4], ['room', 0.8], ['ahu', 0.5], ['plant', 0.3], ['plantIp', 0.1]],
  factory: [['meter', 6], ['meterIp', 0.8], ['co2', 0.3], ['room', 0.6], ['ahu', 0.6], ['plant', 0.6], ['plantIp', 0.3]],
  school: [['meter', 2], ['meterIp', 0.2], ['co2', 4], ['room', 3], ['ahu', 0.6], ['plant', 0.4], ['plantIp', 0.1]],
  hospital: [['meter', 3], ['meterIp', 0.5], ['co2', 2], ['room', 3], ['ahu', 1.2], ['plant', 0.6], ['plantIp', 0.3]],
};

/** What to try when the drawn unit does not fit: the small single-asset units first. */
const FALLBACKS: readonly UnitKind[] = ['meter', 'co2', 'room'];
/** MS/TP share of HVAC controllers on a gateway that runs an MS/TP bus. */
const ON_MSTP = 0.8;

/**
 * Fills a site with exactly `target` assets: gateways, each filled with meters, controllers
 * (with their sensors) and Modbus sensors until its share of the site is placed or it has no
 * room left, then the next gateway. Returns the units in creation order, parents first.
 */
export function layoutSite(ctx: SiteContext, target: number): PlannedUnit[] {
  const { rng } = ctx;
  const units: PlannedUnit[] = [];
  let remaining = target;
  while (remaining > 0) {
    const budget = gatewayBudget(rng, remaining);
    const gw = new GatewayPlan(ctx, gatewayModel(rng, budget));
    units.push({ assets: [gw.asset], cables: [] });
    remaining--;
    for (let left = budget - 1; left > 0; ) {
      const unit = nextUnit(ctx, gw, left);
      if (!unit) break; // the gateway is full: the rest goes to the next one
      units.push(unit);
      left -= unit.assets.length;
      remaining -= unit.assets.length;
    }
    gw.finalize();
  }
  return units;
}

/** Assets (the gateway included) one gateway is meant to carry; a small tail joins the last one. */
function gatewayBudget(rng: Rng, remaining: number): number {
  const budget = rng.int(18, 48);
  return remaining - budget < 12 ? remaining : budget;
}

function gatewayModel(rng: Rng, budget: number): string {
  if (budget <= 20) return rng.weighted([['orbis-edge-10', 50], ['nexa-gw-200', 50]]);
  if (budget <= 40) return rng.weighted([['nexa-gw-200', 75], ['nexa-gw-400', 25]]);
  return rng.weighted([['nexa-gw-400', 60], ['nexa-gw-200', 40]]);
}

function nextUnit(ctx: SiteContext, gw: GatewayPlan, left: number): PlannedUnit | undefined {
  const drawn = ctx.rng.weighted(MIX[ctx.profile]);
  const kinds = left === 1 ? FALLBACKS : [drawn, ...FALLBACKS.filter((k) => k !== drawn)];
  for (const kind of kinds) {
    const unit = tryUnit(ctx, gw, kind, left);
    if (unit) return unit;
  }
  return undefined;
}

function tryUnit(ctx: SiteContext, gw: GatewayPlan, kind: UnitKind, left: number): PlannedUnit | undefined {
  switch (kind) {
    case 'meter':
      return planMeter(ctx, gw, false);
    case 'meterIp':
      return planMeter(ctx, gw, true);
    case 'co2':
      return planCo2Sensor(ctx, gw);
    case 'plantIp':
      return planController(ctx, gw, 'plant', 'ip', left);
    case 'room':
    case 'ahu':
    case 'plant': {
      const mstp = kind !== 'plant' && gw.hasMstp && ctx.rng.chance(ON_MSTP);
      return (mstp ? planController(ctx, gw, kind, 'mstp', left) : undefined) ?? planController(ctx, gw, kind, 'modbus', left);
    }
  }
}
