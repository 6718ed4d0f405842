import type { Asset } from '../graph/types.ts';
import { descendants, gatewayOf, modelName } from './lib/gw-tree.ts';
import { numberOf } from './lib/io-config.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'poll-interval-floor';

export const pollIntervalFloor: Rule = {
  id: RULE,
  title: 'Poll intervals not below the gateway\'s floor',
  description:
    'A gateway model cannot poll any device faster than its shortest supported poll interval ' +
    '(`gateway.minPollIntervalMs` in the catalog): asked to, it falls behind, and every device on the gateway reads ' +
    'stale. So the `pollIntervalMs` of every device the gateway polls (controllers, meters, Modbus sensors, and any ' +
    'wired sensor that sets one) must be at least that floor, and so must the gateway\'s own `pollIntervalMs`. The ' +
    'gateway\'s configured interval is the default for devices that set none, not a floor: a critical meter may be ' +
    'polled faster than the site default as long as the model supports it. A changed device is checked against the ' +
    'gateway it now hangs under (with everything below it, which moves with it); a changed gateway — another model, ' +
    'a new interval — re-checks itself and every device it polls.',
  codes: ['POLL_INTERVAL_BELOW_FLOOR'],
  severity: 'error',
  check(ctx) {
    const inScope = new Map<string, Asset>();
    for (const id of ctx.touched.assets) {
      const asset = ctx.candidate.assets.get(id);
      if (!asset) continue;
      inScope.set(asset.id, asset);
      for (const d of descendants(ctx.index, asset.id)) inScope.set(d.id, d);
    }
    const out: Violation[] = [];
    for (const asset of inScope.values()) {
      const gateway = gatewayOf(ctx.candidate, asset);
      const floor = gateway && ctx.catalog.get(gateway.modelId)?.gateway?.minPollIntervalMs;
      const interval = numberOf(asset.config.pollIntervalMs);
      if (!gateway || floor === undefined || interval === undefined || interval >= floor) continue;
      out.push(violation(ctx, asset, gateway, interval, floor));
    }
    return out;
  },
};

function violation(ctx: RuleContext, asset: Asset, gateway: Asset, interval: number, floor: number): Violation {
  const model = modelName(ctx, gateway.modelId);
  const self = asset.id === gateway.id;
  const subject = self
    ? `${label(gateway)} is set to poll every ${interval} ms, but its model (${model})`
    : `${label(asset)} is polled every ${interval} ms, but ${label(gateway)} (${model}) that polls it`;
  return {
    rule: RULE,
    code: 'POLL_INTERVAL_BELOW_FLOOR',
    message: `${subject} cannot poll faster than every ${floor} ms. Set pollIntervalMs to ${floor} or more.`,
    // The asset whose pollIntervalMs is at fault comes first, as `path` points into its configuration.
    assetIds: self ? [gateway.id] : [asset.id, gateway.id],
    path: '/pollIntervalMs',
    severity: 'error',
  };
}
