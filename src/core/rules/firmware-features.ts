import { compareFirmware } from '../catalog/catalog.ts';
import type { DeviceModel } from '../catalog/types.ts';
import type { Asset } from '../graph/types.ts';
import { modelName } from './lib/gw-tree.ts';
import { isRecord, stringOf } from './lib/io-config.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'firmware-features';

/** A feature the configuration uses, where it is asked for, and how to stop asking for it. */
interface FeatureUse {
  feature: string;
  path: string;
  /** `remove it from protocols` */
  undo: string;
}

const DOTTED = /^\d+(\.\d+)*$/;

export const firmwareFeatures: Rule = {
  id: RULE,
  title: 'Features allowed by the model and its firmware',
  description:
    'A device only speaks the protocols its model implements, and many arrive with a firmware release (the catalog ' +
    'lists each capability with the firmware that enables it, e.g. BACnet MS/TP on the Nexa GW-200 from 2.1.0). ' +
    'Checked for a changed asset: each protocol in a gateway\'s `protocols` and on its buses; a device\'s Modbus RTU ' +
    '(a `unitId` off IP), BACnet MS/TP (`mstpMac`, or a `bacnetInstance` on a bus), and IP protocol (Modbus TCP, or ' +
    'BACnet/IP when it has a `bacnetInstance`); a gateway\'s `bacnetInstance` needs BACnet. The feature must be a ' +
    'capability of the model, and when the device\'s firmware is known it must be at least the capability\'s ' +
    'minimum; a device on older firmware silently ignores the configuration it cannot run. A firmware that is not ' +
    'among the model\'s published versions is reported as a warning (a hotfix or a typo: the catalog cannot vouch ' +
    'for it); its features are still compared by version number. Unknown firmware (null) checks the model only.',
  codes: ['FEATURE_NOT_SUPPORTED', 'FEATURE_NEEDS_FIRMWARE', 'FIRMWARE_UNKNOWN'],
  severity: 'error',
  check(ctx) {
    const out: Violation[] = [];
    for (const id of ctx.touched.assets) {
      const asset = ctx.candidate.assets.get(id);
      const model = asset && ctx.catalog.get(asset.modelId);
      if (!asset || !model) continue;
      out.push(...checkAsset(ctx, asset, model));
    }
    return out;
  },
};

function checkAsset(ctx: RuleContext, asset: Asset, model: DeviceModel): Violation[] {
  const out: Violation[] = [];
  const who = `${label(asset)} (${modelName(ctx, model.id)})`;
  const firmware = asset.firmware;
  if (firmware !== null && !model.firmware.includes(firmware)) {
    out.push({
      rule: RULE,
      code: 'FIRMWARE_UNKNOWN',
      message:
        `${who} is recorded with firmware ${firmware}, which is not a published release of its model ` +
        `(${model.firmware.join(', ')}). Correct the firmware version, or add the release to the catalog.`,
      assetIds: [asset.id],
      severity: 'warning',
    });
  }
  // Features are compared by version number even on an unpublished release, when it is one.
  const comparable = firmware !== null && DOTTED.test(firmware) ? firmware : undefined;
  for (const use of featuresUsed(asset)) {
    const capability = model.capabilities.find((c) => c.name === use.feature);
    if (!capability) {
      out.push({
        rule: RULE,
        code: 'FEATURE_NOT_SUPPORTED',
        message:
          `${who} does not support ${use.feature} in any firmware — ${use.undo}, or use a model that supports it ` +
          `(this one offers ${model.capabilities.map((c) => c.name).join(', ') || 'no protocols'}).`,
        assetIds: [asset.id],
        path: use.path,
        severity: 'error',
      });
    } else if (comparable !== undefined && compareFirmware(comparable, capability.minFirmware) < 0) {
      out.push({
        rule: RULE,
        code: 'FEATURE_NEEDS_FIRMWARE',
        message:
          `${asset.name} runs firmware ${comparable}; ${use.feature} needs ${capability.minFirmware} or later — ` +
          `upgrade the firmware or ${use.undo}.`,
        assetIds: [asset.id],
        path: use.path,
        severity: 'error',
      });
    }
  }
  return out;
}

/** The features a configuration asks for, each once (at the first place it is asked for). */
function featuresUsed(asset: Asset): FeatureUse[] {
  const uses = asset.kind === 'gateway' ? gatewayFeatures(asset) : deviceFeatures(asset);
  const first = new Map<string, FeatureUse>();
  for (const use of uses) if (!first.has(use.feature)) first.set(use.feature, use);
  return [...first.values()];
}

function gatewayFeatures(gateway: Asset): FeatureUse[] {
  const c = gateway.config;
  const uses: FeatureUse[] = [];
  const protocols = Array.isArray(c.protocols) ? c.protocols : [];
  protocols.forEach((p: unknown, i) => {
    if (typeof p === 'string') uses.push({ feature: p, path: `/protocols/${i}`, undo: `remove ${p} from its protocols` });
  });
  if (isRecord(c.buses)) {
    for (const [port, bus] of Object.entries(c.buses)) {
      const protocol = isRecord(bus) ? stringOf(bus.protocol) : undefined;
      if (protocol) {
        uses.push({ feature: protocol, path: `/buses/${escape(port)}/protocol`, undo: `run bus ${port} with another protocol` });
      }
    }
  }
  if (c.bacnetInstance !== undefined) {
    // The gateway's own BACnet device object is covered by whichever BACnet protocol it runs.
    const bacnet = protocols.find((p) => p === 'bacnet-ip' || p === 'bacnet-mstp');
    uses.push({ feature: bacnet ?? 'bacnet-ip', path: '/bacnetInstance', undo: 'remove its bacnetInstance' });
  }
  return uses;
}

function deviceFeatures(device: Asset): FeatureUse[] {
  const c = device.config;
  const uses: FeatureUse[] = [];
  const onIp = stringOf(c.ip) !== undefined;
  if (c.mstpMac !== undefined) uses.push({ feature: 'bacnet-mstp', path: '/mstpMac', undo: 'remove its mstpMac' });
  if (c.unitId !== undefined && !onIp) uses.push({ feature: 'modbus-rtu', path: '/unitId', undo: 'remove its unitId' });
  if (c.bacnetInstance !== undefined) {
    // A BACnet device on a bus is an MS/TP device; on IP (or not yet attached) it is BACnet/IP.
    const onBus = !onIp && device.port !== null;
    const feature = c.mstpMac !== undefined || onBus ? 'bacnet-mstp' : 'bacnet-ip';
    uses.push({ feature, path: '/bacnetInstance', undo: 'remove its bacnetInstance' });
  } else if (onIp) {
    uses.push({ feature: 'modbus-tcp', path: '/ip', undo: 'attach it to a bus instead of IP' });
  }
  return uses;
}

/** JSON Pointer escaping of one reference token (RFC 6901). */
const escape = (token: string) => token.replace(/~/g, '~0').replace(/\//g, '~1');
