import { describe, expect, it } from 'vitest';
import { builtinCatalog } from '../catalog/catalog.ts';
import { SiteBuilder } from '../testing/site-builder.ts';
import { applyOperations } from './apply-operations.ts';

const catalog = builtinCatalog();

describe('markDeployed of the current configuration version', () => {
  it('records the desired placement as deployed and leaves the graph it started from as it was', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const desired = structuredClone(b.asset(gw).config);

    const { candidate, changes } = applyOperations(b.graph, [{ op: 'markDeployed', id: gw, configVersion: 1 }], { catalog });

    expect(candidate.assets.get(gw)?.deployed).toEqual({ version: 1, parentId: null, port: null, config: desired });
    expect(changes.map((c) => c.action)).toEqual(['update']);
    expect(b.asset(gw).deployed).toBeNull();
  });

  it('keeps one copy of the configuration, not a second one for the deployed placement', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const { candidate } = applyOperations(b.graph, [{ op: 'markDeployed', id: gw, configVersion: 1 }], { catalog });
    const asset = candidate.assets.get(gw);
    expect(asset?.deployed?.config).toBe(asset?.config);
  });

  it('keeps the deployed configuration when a later operation of the change set changes the desired one', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const deployed = structuredClone(b.asset(gw).config);

    const { candidate } = applyOperations(
      b.graph,
      [
        { op: 'markDeployed', id: gw, configVersion: 1 },
        { op: 'updateAsset', id: gw, expectedVersion: 1, patch: { config: { pollIntervalMs: 7000 } } },
      ],
      { catalog },
    );

    const asset = candidate.assets.get(gw);
    expect(asset?.config.pollIntervalMs).toBe(7000);
    expect(asset?.deployed?.config).toEqual(deployed);
    expect(asset?.configVersion).toBe(2);
  });
});

describe('cables', () => {
  it('leave the graph the change started from as it was: connect, update and disconnect work on a copy', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const meter = b.meter(gw, 'rs485-1');
    const cable = b.cable([gw, 'rs485-1'], [meter, 'rs485']);
    const other = b.meter(gw, 'rs485-1');
    const before = [...b.graph.connections.values()].map((c) => structuredClone(c));

    const { candidate } = applyOperations(
      b.graph,
      [
        { op: 'connect', connection: { id: 'new-cable', a: { assetId: gw, port: 'rs485-1' }, b: { assetId: other, port: 'rs485' }, lengthM: 3 } },
        { op: 'updateConnection', id: cable, expectedVersion: 1, patch: { label: 'relabelled' } },
      ],
      { catalog },
    );
    expect([...b.graph.connections.values()]).toEqual(before);
    expect(candidate.connections.get('new-cable')).toMatchObject({ version: 1 });
    expect(candidate.connections.get(cable)?.label).toBe('relabelled');

    const { candidate: after } = applyOperations(candidate, [{ op: 'disconnect', id: cable, expectedVersion: 2 }], { catalog });
    expect(after.connections.has(cable)).toBe(false);
    expect(candidate.connections.has(cable)).toBe(true);
    expect([...b.graph.connections.values()]).toEqual(before);
  });

  it('a change to no cable shares the cables of the graph it started from', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    b.cable([gw, 'rs485-1'], [b.meter(gw, 'rs485-1'), 'rs485']);
    const { candidate } = applyOperations(b.graph, [{ op: 'updateAsset', id: gw, expectedVersion: 1, patch: { name: 'GW renamed' } }], { catalog });
    expect(candidate.connections).toBe(b.graph.connections);
  });
});

describe('a change to an asset', () => {
  it('leaves the asset and its configuration in the graph it started from as they were', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const before = b.asset(gw);
    const config = structuredClone(before.config);
    const { candidate } = applyOperations(b.graph, [{ op: 'updateAsset', id: gw, expectedVersion: 1, patch: { name: 'GW-9', config: { pollIntervalMs: 7000 } } }], { catalog });
    expect(candidate.assets.get(gw)).toMatchObject({ name: 'GW-9', version: 2, configVersion: 2, config: { pollIntervalMs: 7000 } });
    expect(b.asset(gw)).toBe(before);
    expect(before.name).not.toBe('GW-9');
    expect(before).toMatchObject({ version: 1, configVersion: 1 });
    expect(before.config).toEqual(config);
  });

  it.each([
    ['the same members in another order', (config: Record<string, unknown>) => Object.fromEntries(Object.entries(config).reverse())],
    ['a zero written as -0, which JSON and jsonb store as 0', (config: Record<string, unknown>) => ({ ...config, pollIntervalMs: -0 })],
  ])('that sets %s changes nothing: no version, and the candidate keeps the very asset it started from', (_what, rewrite) => {
    const b = new SiteBuilder();
    const gw = b.gateway({ config: { pollIntervalMs: 0 } });
    const config = rewrite(b.asset(gw).config);
    const { candidate, changes, touched, newConfigVersions } = applyOperations(b.graph, [{ op: 'setConfig', id: gw, expectedVersion: 1, config }], { catalog });
    expect(changes).toEqual([]);
    expect(touched.assets.size).toBe(0);
    expect(newConfigVersions.size).toBe(0);
    expect(candidate.assets.get(gw)).toBe(b.asset(gw));
  });
});

describe('the expected version of an entity created earlier in the change set', () => {
  it('is 1, the version it is created at, for an asset and for a cable', () => {
    const b = new SiteBuilder();
    const gw = b.gateway();
    const meter = '0b6a3a3e-62c5-4f6b-9b0e-3f2e7a1c9d01';
    const cable = '0b6a3a3e-62c5-4f6b-9b0e-3f2e7a1c9d02';
    const create = [
      { op: 'createAsset' as const, asset: { id: meter, kind: 'meter' as const, modelId: 'voltis-em-340', name: 'M-new', parentId: gw, port: 'rs485-1' } },
      { op: 'connect' as const, connection: { id: cable, a: { assetId: gw, port: 'rs485-1' }, b: { assetId: meter, port: 'com' }, lengthM: 5 } },
    ];
    const { candidate } = applyOperations(
      b.graph,
      [...create, { op: 'updateAsset', id: meter, expectedVersion: 1, patch: { name: 'M-renamed' } }, { op: 'updateConnection', id: cable, expectedVersion: 1, patch: { lengthM: 6 } }],
      { catalog },
    );
    expect(candidate.assets.get(meter)?.name).toBe('M-renamed');
    expect(candidate.connections.get(cable)?.lengthM).toBe(6);
    expect(() => applyOperations(b.graph, [...create, { op: 'deleteAsset', id: meter, expectedVersion: 0 }], { catalog })).toThrow(`asset ${meter} is at version 1, not 0`);
  });
});
