import type { Asset } from '../graph/types.ts';
import { label } from './lib/io-describe.ts';
import type { Rule, RuleContext, Violation } from './types.ts';

const RULE = 'parent-kind-allowed';

/**
 * Where each kind may hang. Gateways sit directly under the site; controllers and meters on a
 * gateway's RS-485 bus or on IP; sensors on a controller's input channel, or (Modbus sensors
 * only) on a gateway's RS-485 bus.
 */
export const parentKindAllowed: Rule = {
  id: RULE,
  title: 'Allowed parent kinds and ports',
  description:
    'Checks that every asset hangs where its kind can physically be attached: a gateway has no parent; a controller or ' +
    "meter hangs on one of its gateway's RS-485 ports, or on IP (no port) only when its own model has an Ethernet port; a " +
    "sensor is wired to an analog or digital input channel (ai/di) of a controller, or sits on a gateway's RS-485 port " +
    "only when the sensor model speaks Modbus RTU. The port must exist on the parent's model and be of a type the child " +
    'can use. A configuration that places a 4–20 mA transmitter on a serial bus, or a meter on a relay output, describes ' +
    'wiring that cannot exist, and every rule that reasons about buses and channels would be reasoning about fiction. ' +
    'A parent that is not in the site is reported by same-site instead. Assets whose model the catalog does not know are ' +
    'left to the schema check.',
  codes: ['PARENT_REQUIRED', 'PARENT_KIND_NOT_ALLOWED', 'PORT_REQUIRED', 'PORT_NOT_ON_PARENT', 'PORT_TYPE_NOT_ALLOWED', 'IP_ATTACHMENT_UNSUPPORTED'],
  severity: 'error',
  check(ctx) {
    const subjects = new Map<string, Asset>();
    for (const id of ctx.touched.assets) {
      const asset = ctx.candidate.assets.get(id);
      if (asset) subjects.set(id, asset);
      // A parent's change (its ports, its kind) can strand children nobody touched.
      for (const child of ctx.index.children(id)) subjects.set(child.id, child);
    }
    return [...subjects.values()].flatMap((asset) => checkAsset(ctx, asset));
  },
};

function checkAsset(ctx: RuleContext, asset: Asset): Violation[] {
  const v = (code: string, message: string, others: string[] = []): Violation[] => [
    { rule: RULE, code, message, assetIds: [...new Set([asset.id, ...others])], severity: 'error' },
  ];

  if (asset.kind === 'gateway') {
    if (asset.parentId !== null) {
      return v('PARENT_KIND_NOT_ALLOWED', `${label(asset)} is a gateway and sits directly under the site; clear its parent.`, [asset.parentId]);
    }
    if (asset.port !== null) return v('PORT_NOT_ON_PARENT', `${label(asset)} has no parent, so it cannot hang on port "${asset.port}"; clear its port.`);
    return [];
  }

  if (asset.parentId === null) {
    const where = asset.kind === 'sensor' ? 'a controller channel or a gateway bus' : 'a gateway (on an RS-485 port or on IP)';
    return v('PARENT_REQUIRED', `${label(asset)} must be attached to ${where}; set its parent and port.`);
  }
  const parent = ctx.candidate.assets.get(asset.parentId);
  if (!parent) return []; // same-site reports a parent outside the site
  const model = ctx.catalog.get(asset.modelId);
  const parentModel = ctx.catalog.get(parent.modelId);
  if (!model || !parentModel) return [];

  const allowedParents = asset.kind === 'sensor' ? ['controller', 'gateway'] : ['gateway'];
  if (!allowedParents.includes(parent.kind)) {
    return v('PARENT_KIND_NOT_ALLOWED', `${label(asset)} cannot hang under ${label(parent)}: a ${asset.kind} belongs under a ${allowedParents.join(' or ')}.`, [parent.id]);
  }

  if (asset.kind === 'sensor' && parent.kind === 'gateway' && !model.sensor?.outputs.includes('modbus-rtu')) {
    return v(
      'PARENT_KIND_NOT_ALLOWED',
      `${label(asset)} (${model.id}) outputs ${model.sensor?.outputs.join('/') ?? 'an analog signal'}, not Modbus RTU, so it cannot hang under ${label(parent)}; wire it to an input channel of a controller.`,
      [parent.id],
    );
  }

  if (asset.port === null) {
    if (asset.kind === 'sensor' && parent.kind === 'controller') {
      return v('PORT_REQUIRED', `${label(asset)} must be wired to one input channel of ${label(parent)}; set its port (e.g. ${firstPort(parentModel.ports, ['ai', 'di'])}).`, [parent.id]);
    }
    if (!model.ports.some((p) => p.type === 'ethernet')) {
      return v(
        'IP_ATTACHMENT_UNSUPPORTED',
        `${label(asset)} (${model.id}) has no Ethernet port, so it cannot reach ${label(parent)} over IP; put it on one of the gateway's RS-485 ports (${firstPort(parentModel.ports, ['rs485'])}).`,
        [parent.id],
      );
    }
    return [];
  }

  const types = allowedTypes(parent.kind);
  const spec = parentModel.ports.find((p) => p.name === asset.port);
  if (!spec) {
    return v('PORT_NOT_ON_PARENT', `${label(parent)} (${parentModel.id}) has no port "${asset.port}"; pick one of ${portList(parentModel.ports, types)}.`, [parent.id]);
  }
  if (!types.includes(spec.type)) {
    return v(
      'PORT_TYPE_NOT_ALLOWED',
      `${label(asset)} cannot hang on ${spec.type} port "${spec.name}" of ${label(parent)}; a ${asset.kind} there needs a ${types.join('/')} port: ${portList(parentModel.ports, types)}.`,
      [parent.id],
    );
  }
  return [];
}

/** Port types a child may use on a parent of this kind. */
const allowedTypes = (parentKind: string): string[] => (parentKind === 'controller' ? ['ai', 'di'] : ['rs485']);

function portList(ports: Array<{ name: string; type: string }>, types: string[]): string {
  const names = ports.filter((p) => types.includes(p.type)).map((p) => p.name);
  return names.length ? names.join(', ') : `none (the model has no ${types.join('/')} port)`;
}

const firstPort = (ports: Array<{ name: string; type: string }>, types: string[]) =>
  ports.find((p) => types.includes(p.type))?.name ?? 'none available';
