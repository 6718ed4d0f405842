import type { Asset } from '../graph/types.ts';
import { descendants, gatewaysReached, modelName, pollIntervalOf } from './lib/gw-tree.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'gateway-point-capacity';

/** Share of the rated throughput a gateway may be planned to, as for bus time (see bus-poll-budget). */
export const POLL_BUDGET_UTILISATION = 0.8;
/** Share of the point capacity above which a warning says the gateway is nearly full. */
export const POINT_CAPACITY_WARN = 0.9;
/** Points of a device whose model does not say: every polled device yields at least one value. */
const DEFAULT_POINTS = 1;

export const gatewayPointCapacity: Rule = {
  id: RULE,
  title: 'Gateway point capacity and polling budget',
  description:
    'A gateway holds every value it polls in memory and publishes it upstream, and its model is rated for a maximum ' +
    'number of data points (`gateway.pointCapacity` in the catalog) and a shortest poll interval ' +
    '(`gateway.minPollIntervalMs`). The points of everything the gateway polls — controllers, meters and Modbus ' +
    'sensors on its buses or on IP, and the sensors wired to its controllers — are summed from each model\'s ' +
    '`points` (1 when a model does not say) and must not exceed the capacity; above 90 % a warning says the gateway is ' +
    'nearly full. Retired assets still placed under the gateway count until they are deleted. The gateway\'s polling ' +
    'throughput is bounded too: the sum over polled devices of points ÷ poll interval (a wired sensor is read at its ' +
    'controller\'s interval, a device without an interval at the gateway\'s default) must stay within 80 % of ' +
    'pointCapacity ÷ minPollIntervalMs points per second — the catalog rates the gateway for its full point capacity ' +
    'at its shortest interval, and the 20 % headroom, as for bus time, absorbs retries, timeouts and MQTT publishing. ' +
    'An overloaded gateway does not fail loudly: it stretches its poll cycles and values go stale. Counted on the ' +
    'desired placement; the check runs on the gateway over every changed asset and the one it left.',
  codes: ['POINT_CAPACITY_EXCEEDED', 'POINT_CAPACITY_HIGH', 'POLL_BUDGET_EXCEEDED'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    for (const { gateway, via } of gatewaysReached(ctx)) {
      const spec = ctx.catalog.get(gateway.modelId)?.gateway;
      if (!spec) continue;
      const polled = descendants(ctx.index, gateway.id);
      const assetIds = changedFirst(gateway, via);
      const cause = causeOf(ctx, gateway, via);
      const points = polled.reduce((sum, d) => sum + pointsOf(ctx, d), 0);
      const gw = `${label(gateway)} (${modelName(ctx, gateway.modelId)})`;
      if (points > spec.pointCapacity) {
        out.push({
          rule: RULE,
          code: 'POINT_CAPACITY_EXCEEDED',
          message:
            `${gw} would poll ${points} points from ${polled.length} devices, more than the ${spec.pointCapacity} its model ` +
            `can handle${cause}. Move devices to another gateway or use a gateway model with a larger point capacity.`,
          assetIds,
          severity: 'error',
        });
      } else if (points > POINT_CAPACITY_WARN * spec.pointCapacity) {
        out.push({
          rule: RULE,
          code: 'POINT_CAPACITY_HIGH',
          message:
            `${gw} would poll ${points} of its ${spec.pointCapacity} points (${percent(points / spec.pointCapacity)})${cause}. ` +
            'Plan further devices on another gateway.',
          assetIds,
          severity: 'warning',
        });
      }
      const budget = (POLL_BUDGET_UTILISATION * spec.pointCapacity * 1000) / spec.minPollIntervalMs;
      const rate = polled.reduce((sum, d) => sum + (pointsOf(ctx, d) * 1000) / pollIntervalOf(ctx, d, gateway), 0);
      // A hair of tolerance: sums of points ÷ seconds are floating point, and exactly at budget is fine.
      if (rate > budget + 1e-9) {
        out.push({
          rule: RULE,
          code: 'POLL_BUDGET_EXCEEDED',
          message:
            `${gw} would have to read ${round(rate)} points per second, more than its budget of ${round(budget)} ` +
            `(${percent(POLL_BUDGET_UTILISATION)} of ${spec.pointCapacity} points every ${spec.minPollIntervalMs} ms)${cause}. ` +
            `Lengthen the poll intervals (the busiest: ${busiest(ctx, polled, gateway)}) or move devices to another gateway.`,
          assetIds,
          severity: 'error',
        });
      }
    }
    return out;
  },
};

function pointsOf(ctx: RuleContext, asset: Asset): number {
  return ctx.catalog.get(asset.modelId)?.points ?? DEFAULT_POINTS;
}

/** The gateway first when the change touched it, otherwise the changed devices first. */
function changedFirst(gateway: Asset, via: string[]): string[] {
  const others = via.filter((id) => id !== gateway.id);
  return via.includes(gateway.id) ? [gateway.id, ...others] : [...others, gateway.id];
}

/** `, after the change to meter M-3, controller C-1`: which changed devices reach the gateway. */
function causeOf(ctx: RuleContext, gateway: Asset, via: string[]): string {
  const names = via
    .filter((id) => id !== gateway.id)
    .map((id) => ctx.candidate.assets.get(id) ?? ctx.before.assets.get(id))
    .filter((a): a is Asset => a !== undefined)
    .map(label);
  if (names.length === 0) return '';
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
  return `, after the change to ${shown}`;
}

/** Up to three devices contributing the most points per second, to make the fix concrete. */
function busiest(ctx: RuleContext, polled: Asset[], gateway: Asset): string {
  const named = polled
    .filter((d) => typeof d.config.pollIntervalMs === 'number')
    .map((d) => ({ d, rate: (pointsOf(ctx, d) * 1000) / pollIntervalOf(ctx, d, gateway) }))
    .sort((a, b) => b.rate - a.rate)
    .slice(0, 3)
    .map(({ d, rate }) => `${label(d)}: ${round(rate)} points/s, every ${pollIntervalOf(ctx, d, gateway)} ms`)
    .join('; ');
  return named || `the default pollIntervalMs of ${gateway.name}`;
}

const round = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));
const percent = (share: number) => `${Math.round(share * 100)} %`;
