import { randomUUID } from 'node:crypto';
import type { AuditActor, AuditEventInput } from './types.ts';

/** A user actor for tests. */
export const alice: AuditActor = { type: 'user', id: 'user-alice', name: 'Alice' };

/** Builds a plausible "asset updated" event in `site:<siteId>`; override any field. */
export function assetUpdate(siteId: string, overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    scope: `site:${siteId}`,
    actor: alice,
    requestId: `req-${randomUUID()}`,
    service: 'config',
    orgId: '00000000-0000-4000-8000-000000000001',
    siteId,
    siteRevision: 1,
    entityType: 'asset',
    entityId: randomUUID(),
    action: 'update',
    outcome: 'applied',
    before: { name: 'meter-1', config: { unitId: 3, baud: 9600 } },
    after: { name: 'meter-1', config: { unitId: 4, baud: 9600 } },
    ...overrides,
  };
}
