/**
 * JSON Schemas of the MQTT payloads in `topics.ts`, and parsers that accept a message only
 * when it has exactly that shape: whatever a gateway sends is untrusted input.
 */
import { Type } from 'typebox';
import type { Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { storableText } from '../db/storable-text.ts';
import type { AckPayload, DesiredPayload, ReportedPayload } from './topics.ts';
import { isUuid } from '../core/ids.ts';

/** The largest PostgreSQL `integer`: versions land in such columns, where a larger one would fail the statement writing it. */
export const MAX_VERSION = 2_147_483_647;

const Id = Type.String({ format: 'uuid' });
const Version = Type.Integer({ minimum: 1, maximum: MAX_VERSION });
const Hash = Type.String({ pattern: '^sha256:[0-9a-f]{64}$' });

export const DesiredPayloadSchema = Type.Object({
  deploymentId: Id,
  assetId: Id,
  version: Version,
  hash: Hash,
  config: Type.Record(Type.String(), Type.Unknown()),
});

export const AckPayloadSchema = Type.Object({
  deploymentId: Id,
  assetId: Id,
  version: Version,
  status: Type.Union([Type.Literal('applied'), Type.Literal('rejected')]),
  error: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()]),
});

export const ReportedPayloadSchema = Type.Object({
  assetId: Id,
  version: Version,
  hash: Hash,
});

// Compile-time check that the schemas and the interfaces of topics.ts describe the same thing.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _agree: [Same<Static<typeof AckPayloadSchema>, AckPayload>, Same<Static<typeof ReportedPayloadSchema>, ReportedPayload>, Same<Static<typeof DesiredPayloadSchema>, DesiredPayload>] = [true, true, true];
void _agree;

// Compiled once: a rollout brings tens of thousands of acks and states a minute.
const isAck = Compile(AckPayloadSchema);
const isReported = Compile(ReportedPayloadSchema);
const isDesired = Compile(DesiredPayloadSchema);

const HASH = /^sha256:[0-9a-f]{64}$/;

/** True for a canonical UUID (what asset, gateway and deployment ids are). */
export { isUuid };

function parseJson(message: Buffer | string): unknown {
  try {
    return JSON.parse(message.toString());
  } catch {
    return undefined;
  }
}

// typebox's Value.Check does not know string formats unless registered; check ids by hand.
function idsAreUuids(value: Record<string, unknown>, keys: string[]): boolean {
  return keys.every((k) => typeof value[k] === 'string' && isUuid(value[k] as string));
}

/**
 * The ack in `message`, or undefined when it is not a well-formed ack. A rejection reason with
 * text PostgreSQL cannot store (NUL, unpaired surrogates) is kept with those replaced: refusing
 * to store it would lose the rejection, and the target would wait for its timeout instead.
 */
export function parseAck(message: Buffer | string): AckPayload | undefined {
  const value = parseJson(message);
  if (!isAck.Check(value) || !idsAreUuids(value, ['deploymentId', 'assetId'])) return undefined;
  return value.error === null ? value : { ...value, error: storableText(value.error) };
}

/** The reported state in `message`, or undefined (an empty retained message clears a state). */
export function parseReported(message: Buffer | string): ReportedPayload | undefined {
  const value = parseJson(message);
  if (!isReported.Check(value) || !idsAreUuids(value, ['assetId']) || !HASH.test(value.hash)) return undefined;
  return value;
}

/** The desired configuration in `message`, or undefined. */
export function parseDesired(message: Buffer | string): DesiredPayload | undefined {
  const value = parseJson(message);
  if (!isDesired.Check(value) || !idsAreUuids(value, ['deploymentId', 'assetId']) || !HASH.test(value.hash)) return undefined;
  return value as DesiredPayload;
}
