/**
 * The guards of the device state machine: pure checks over the facts a transition touches
 * (the device, the asset it fills or is to fill, the device already in that slot, what the
 * asset's device reported, the devices that depend on a gateway). Every failing guard is
 * reported, not the first; the write path refuses the transition when any is.
 */
import { configHash } from '../config-hash.ts';
import type { AssetKind } from '../catalog/types.ts';
import type { Violation } from '../rules/types.ts';
import { SLOT_STATES, TRANSITIONS, type DeviceState, type Transition } from './device-states.ts';

/** Rule id of every violation a lifecycle guard reports. */
export const GUARD_RULE = 'lifecycle-guard';

/** Codes the guards can report. */
export const GUARD_CODES = [
  'TRANSITION_NOT_ALLOWED',
  'ASSET_NOT_FOUND',
  'MODEL_MISMATCH',
  'ORG_MISMATCH',
  'ASSET_RETIRED',
  'SLOT_TAKEN',
  'CONFIG_NOT_DEPLOYED',
  'REPORTED_DIFFERS',
  'DEPENDENTS_ACTIVE',
  'GATEWAY_NOT_ACTIVE',
] as const;
export type GuardCode = (typeof GUARD_CODES)[number];

export interface GuardDevice {
  id: string;
  orgId: string;
  serial: string;
  modelId: string;
  state: DeviceState;
  assetId: string | null;
}

/** What the guards need to know of an asset (a subset of the configuration service's view). */
export interface GuardAsset {
  id: string;
  siteId: string;
  kind: AssetKind;
  modelId: string;
  name: string;
  status: 'planned' | 'active' | 'retired';
  /** Firmware recorded for the asset's device. */
  firmware: string | null;
  config: Record<string, unknown>;
  configVersion: number;
  deployedVersion: number | null;
}

/** A device that depends on a gateway: installed on an asset under it. */
export interface Dependent {
  deviceId: string;
  serial: string;
  state: DeviceState;
  assetId: string;
  assetName: string;
}

/**
 * The facts a transition is judged on. A fact left `undefined` was not looked up (its guard
 * is skipped); `null` means looked up and absent.
 */
export interface TransitionFacts {
  device: GuardDevice;
  /** The asset an install names (the device's own asset for every other transition). */
  targetAssetId?: string;
  /** The asset concerned: the target of an install, otherwise the device's own asset. */
  asset?: GuardAsset | null;
  /** Organisation of the asset's site. */
  siteOrgId?: string | null;
  /** A device other than `device` that fills the asset's slot now. */
  slotHolder?: { id: string; serial: string } | null;
  /**
   * Whether a gateway acknowledged the asset's configuration version since the device entered
   * its slot: before that, an acknowledgement (and a report) came from the device there before.
   */
  ackedSinceInstall?: boolean;
  /** What the asset's device last reported (`lifecycle.reported_state`). */
  reported?: { version: number; hash: string } | null;
  /** Id of a deployment to the asset still in flight. */
  runningDeployment?: string | null;
  /**
   * The device at the gateway the asset is polled through (filling its slot, else reported
   * faulty there; `empty` with no serial when the device that was there left); null when no
   * device was ever installed at it — a gateway whose device is not tracked.
   */
  gatewayDevice?: { serial: string | null; state: DeviceState | 'empty'; assetId: string; assetName: string } | null;
  /** Devices installed on assets under the asset, when it is a gateway. */
  dependents?: Dependent[];
}

/** One transition judged on its facts. */
export interface TransitionVerdict {
  transition: Transition;
  from: readonly DeviceState[];
  to: DeviceState;
  allowed: boolean;
  violations: Violation[];
  /** Request fields the transition needs that were not given (install without an asset). */
  requires: string[];
}

/** Transitions that put a device into (or back into) service at its asset. */
const INTO_SERVICE: readonly Transition[] = ['install', 'commission', 'activate', 'end_maintenance'];
/** Transitions that need the asset's desired configuration deployed and reported back. */
const NEEDS_CONFIG: readonly Transition[] = ['commission', 'activate', 'end_maintenance'];
/** Transitions that make a device active, which it can only be while its gateway polls it. */
export const NEEDS_ACTIVE_GATEWAY: readonly Transition[] = ['activate', 'end_maintenance'];
/** Which dependent states block a gateway's transition. */
const BLOCKING_DEPENDENTS: Partial<Record<Transition, readonly DeviceState[]>> = {
  // A gateway in maintenance drops the buses its active devices are polled on.
  start_maintenance: ['active'],
  // A device in maintenance returns to active under its gateway, a commissioned one is
  // activated under it: they depend on it too.
  decommission: ['active', 'maintenance', 'commissioned'],
};

const violation = (code: GuardCode, message: string, assetIds: Array<string | null | undefined>): Violation => ({
  rule: GUARD_RULE,
  code,
  message,
  assetIds: [...new Set(assetIds.filter((a): a is string => typeof a === 'string'))],
  severity: 'error',
});

const name = (d: GuardDevice) => `Device ${d.serial}`;
const phrase = (t: Transition) => t.replaceAll('_', ' ');

/**
 * Every reason `transition` may not happen given `facts`; empty when it may.
 *
 * @example
 *   checkTransition('install', { device, asset, siteOrgId: device.orgId, slotHolder: null });
 *   // [] — or e.g. [{ rule: 'lifecycle-guard', code: 'SLOT_TAKEN', … }]
 */
export function checkTransition(transition: Transition, facts: TransitionFacts): Violation[] {
  const { device, asset } = facts;
  const spec = TRANSITIONS[transition];
  const out: Violation[] = [];
  const assetId = asset?.id ?? facts.targetAssetId ?? device.assetId;

  if (!spec.from.includes(device.state)) {
    out.push(
      violation(
        'TRANSITION_NOT_ALLOWED',
        `${name(device)} is ${device.state}; ${phrase(transition)} is possible only from ${spec.from.join(' or ')}.`,
        [device.assetId],
      ),
    );
  }
  if (INTO_SERVICE.includes(transition)) out.push(...checkAsset(transition, facts));
  if (transition === 'install' && asset) out.push(...checkSlot(facts, asset));
  if (NEEDS_CONFIG.includes(transition) && asset) out.push(...checkConfig(transition, facts, asset));
  const gw = facts.gatewayDevice;
  if (NEEDS_ACTIVE_GATEWAY.includes(transition) && gw && gw.state !== 'active') {
    out.push(
      violation(
        'GATEWAY_NOT_ACTIVE',
        `${name(device)} is polled through gateway ${gw.assetName}, ` +
          (gw.serial === null ? 'whose device has left and which no device fills' : `whose device ${gw.serial} is ${gw.state}`) +
          ': it would not be polled. Bring the gateway into service first.',
        [assetId, gw.assetId],
      ),
    );
  }
  const blocking = BLOCKING_DEPENDENTS[transition];
  if (blocking && asset?.kind === 'gateway' && facts.dependents) {
    const active = facts.dependents.filter((d) => blocking.includes(d.state));
    if (active.length > 0) {
      const listed = active.slice(0, 5).map((d) => `${d.serial} on ${d.assetName} (${d.state})`).join(', ');
      out.push(
        violation(
          'DEPENDENTS_ACTIVE',
          `${name(device)} is the gateway of ${active.length} device(s) still in service: ${listed}${active.length > 5 ? ', …' : ''}. ` +
            `Put them into maintenance, decommission or move them before you ${phrase(transition)} the gateway.`,
          [assetId, ...active.map((d) => d.assetId)],
        ),
      );
    }
  }
  return out;
}

/** The asset must exist, be of the device's model and organisation, and not be retired. */
function checkAsset(transition: Transition, facts: TransitionFacts): Violation[] {
  const { device, asset } = facts;
  const out: Violation[] = [];
  if (asset === null) {
    const id = facts.targetAssetId ?? device.assetId;
    out.push(violation('ASSET_NOT_FOUND', `Asset ${id ?? '(none)'} does not exist (any more); ${phrase(transition)} needs the asset ${name(device)} is to serve.`, [id]));
    return out;
  }
  if (asset === undefined) return out;
  if (asset.modelId !== device.modelId) {
    out.push(
      violation(
        'MODEL_MISMATCH',
        `${name(device)} is a ${device.modelId}, but asset ${asset.name} is configured for a ${asset.modelId}; install a device of the asset's model.`,
        [asset.id],
      ),
    );
  }
  if (facts.siteOrgId !== undefined && facts.siteOrgId !== null && facts.siteOrgId !== device.orgId) {
    out.push(violation('ORG_MISMATCH', `${name(device)} belongs to another organisation than the site of asset ${asset.name}.`, [asset.id]));
  }
  if (asset.status === 'retired') {
    out.push(
      violation('ASSET_RETIRED', `Asset ${asset.name} is retired (out of service); return it to service before a device may ${phrase(transition)} there.`, [asset.id]),
    );
  }
  return out;
}

function checkSlot(facts: TransitionFacts, asset: GuardAsset): Violation[] {
  const holder = facts.slotHolder;
  if (!holder || holder.id === facts.device.id) return [];
  return [
    violation(
      'SLOT_TAKEN',
      `Asset ${asset.name} is already filled by device ${holder.serial}; decommission it, report it faulty or replace it first.`,
      [asset.id],
    ),
  ];
}

/** The desired configuration must be deployed, acknowledged and reported back unchanged. */
function checkConfig(transition: Transition, facts: TransitionFacts, asset: GuardAsset): Violation[] {
  const out: Violation[] = [];
  const why = `${phrase(transition)} needs its configuration version ${asset.configVersion} deployed`;
  if (asset.deployedVersion !== asset.configVersion) {
    const now = asset.deployedVersion === null ? 'nothing is deployed yet' : `the device acknowledged version ${asset.deployedVersion}`;
    out.push(violation('CONFIG_NOT_DEPLOYED', `Asset ${asset.name}: ${why}, but ${now}. Deploy the configuration first.`, [asset.id]));
  } else if (facts.runningDeployment) {
    out.push(
      violation('CONFIG_NOT_DEPLOYED', `Asset ${asset.name}: deployment ${facts.runningDeployment} to it is still running; wait for it to finish.`, [asset.id]),
    );
  } else if (transition === 'commission' && facts.ackedSinceInstall === false) {
    out.push(
      violation(
        'CONFIG_NOT_DEPLOYED',
        `Asset ${asset.name}: no gateway has acknowledged version ${asset.configVersion} since ${name(facts.device)} was installed (an acknowledgement before came from the device there then); deploy the configuration to this device first.`,
        [asset.id],
      ),
    );
  }
  if (facts.reported !== undefined) {
    const reported = facts.reported;
    const hash = configHash(asset.config);
    if (reported === null) {
      out.push(violation('REPORTED_DIFFERS', `Asset ${asset.name}: its device has reported no configuration yet; ${why} and reported back.`, [asset.id]));
    } else if (reported.version !== asset.configVersion || reported.hash !== hash) {
      const what = reported.version !== asset.configVersion ? `version ${reported.version}` : `version ${reported.version} with another content hash`;
      out.push(
        violation(
          'REPORTED_DIFFERS',
          `Asset ${asset.name}: its device reports ${what}, not the desired version ${asset.configVersion}; redeploy and wait for the report.`,
          [asset.id],
        ),
      );
    }
  }
  return out;
}

/**
 * Every transition from the state machine, judged on `facts`. An install judged without an
 * asset is checked on the device's state only and `requires: ['assetId']`.
 */
export function judgeTransitions(facts: TransitionFacts): TransitionVerdict[] {
  return (Object.keys(TRANSITIONS) as Transition[]).map((transition) => {
    const unknownTarget = transition === 'install' && facts.asset === undefined;
    const violations = checkTransition(transition, facts);
    const spec = TRANSITIONS[transition];
    return { transition, from: spec.from, to: spec.to, allowed: violations.length === 0, violations, requires: unknownTarget ? ['assetId'] : [] };
  });
}

/** The facts of a replacement: the device leaving, the one taking its slot, and the slot. */
export interface ReplacementFacts {
  old: GuardDevice;
  replacement: GuardDevice;
  asset: GuardAsset | null;
  siteOrgId: string | null;
  /** A device other than `old` filling the slot now. */
  slotHolder: { id: string; serial: string } | null;
}

/** States a device can be replaced from: in its slot, or faulty while still at its asset. */
export const REPLACEABLE_STATES: readonly DeviceState[] = [...SLOT_STATES, 'faulty'];

/**
 * Every reason `replacement` may not take over the slot of `old`.
 *
 * @example
 *   checkReplacement({ old, replacement, asset, siteOrgId, slotHolder: null }); // []
 */
export function checkReplacement(facts: ReplacementFacts): Violation[] {
  const { old, replacement, asset } = facts;
  const out: Violation[] = [];
  if (!REPLACEABLE_STATES.includes(old.state) || old.assetId === null) {
    out.push(
      violation(
        'TRANSITION_NOT_ALLOWED',
        `${name(old)} is ${old.state}${old.assetId ? '' : ' at no asset'}; only a device at an asset (installed, commissioned, active, in maintenance or faulty) can be replaced.`,
        [old.assetId],
      ),
    );
  }
  if (replacement.state !== 'in_stock') {
    out.push(violation('TRANSITION_NOT_ALLOWED', `${name(replacement)} is ${replacement.state}; only a device in stock can replace another.`, [replacement.assetId]));
  }
  if (replacement.modelId !== old.modelId) {
    out.push(violation('MODEL_MISMATCH', `${name(replacement)} is a ${replacement.modelId}; it cannot replace ${old.serial}, a ${old.modelId}.`, [old.assetId]));
  }
  if (replacement.orgId !== old.orgId) {
    out.push(violation('ORG_MISMATCH', `${name(replacement)} belongs to another organisation than ${old.serial}.`, [old.assetId]));
  }
  if (old.assetId === null) return out;
  const target = checkTransition('install', {
    device: { ...replacement, state: 'in_stock', assetId: null },
    targetAssetId: old.assetId,
    asset,
    siteOrgId: facts.siteOrgId,
    slotHolder: facts.slotHolder && facts.slotHolder.id !== old.id ? facts.slotHolder : null,
  });
  // The replacement's own model and organisation were compared with the old device above.
  const reported = new Set(out.map((v) => v.code));
  out.push(...target.filter((v) => !(reported.has(v.code) && (v.code === 'MODEL_MISMATCH' || v.code === 'ORG_MISMATCH'))));
  return out;
}
