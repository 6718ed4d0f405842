import { describe, expect, it } from 'vitest';
import { configHash } from '../core/config-hash.ts';
import { MAX_VERSION, parseAck, parseDesired, parseReported } from './payloads.ts';

const id = '3f2c9a1e-0b5d-4c1e-9a7f-2d8e6b4a1c00';
const hash = configHash({ unitId: 5 });

describe('MQTT payload parsers', () => {
  it('accept well-formed acks, states and desired configurations', () => {
    expect(parseAck(JSON.stringify({ deploymentId: id, assetId: id, version: 2, status: 'applied', error: null }))).toMatchObject({ status: 'applied' });
    expect(parseReported(Buffer.from(JSON.stringify({ assetId: id, version: 2, hash })))).toEqual({ assetId: id, version: 2, hash });
    expect(parseDesired(JSON.stringify({ deploymentId: id, assetId: id, version: 2, hash, config: { unitId: 5 } }))).toMatchObject({ version: 2 });
  });

  it('refuse anything else: not JSON, a missing field, a bad status, an id or hash of the wrong shape', () => {
    expect(parseAck('{')).toBeUndefined();
    expect(parseAck(JSON.stringify({ deploymentId: id, assetId: id, version: 2, status: 'applied' }))).toBeUndefined();
    expect(parseAck(JSON.stringify({ deploymentId: id, assetId: id, version: 2, status: 'maybe', error: null }))).toBeUndefined();
    expect(parseAck(JSON.stringify({ deploymentId: 'x', assetId: id, version: 2, status: 'applied', error: null }))).toBeUndefined();
    expect(parseReported(JSON.stringify({ assetId: id, version: 0, hash }))).toBeUndefined();
    expect(parseReported(JSON.stringify({ assetId: id, version: 1, hash: 'md5:abc' }))).toBeUndefined();
  });

  it('keep a rejection whose reason PostgreSQL could not store, with that text replaced (found by test/chaos: the rejection was lost and the target timed out)', () => {
    const ack = parseAck(JSON.stringify({ deploymentId: id, assetId: id, version: 2, status: 'rejected', error: 'bad\u0000unit \ud800id' }));
    expect(ack).toMatchObject({ status: 'rejected', error: 'bad\ufffdunit \ufffdid' });
  });

  it('refuse a version no integer column holds (one such retained state used to cost every state stored with it)', () => {
    expect(parseReported(JSON.stringify({ assetId: id, version: 3_000_000_000, hash }))).toBeUndefined();
    expect(parseReported(JSON.stringify({ assetId: id, version: MAX_VERSION + 1, hash }))).toBeUndefined();
    expect(parseAck(JSON.stringify({ deploymentId: id, assetId: id, version: MAX_VERSION + 1, status: 'applied', error: null }))).toBeUndefined();
    expect(parseDesired(JSON.stringify({ deploymentId: id, assetId: id, version: MAX_VERSION + 1, hash, config: {} }))).toBeUndefined();
    expect(parseReported(JSON.stringify({ assetId: id, version: MAX_VERSION, hash }))).toEqual({ assetId: id, version: MAX_VERSION, hash });
  });
});
