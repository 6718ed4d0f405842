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
