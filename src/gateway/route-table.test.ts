import { describe, expect, it } from 'vitest';
import { routeOf } from './route-table.ts';

const service = (path: string) => {
  const r = routeOf(path);
  return r.kind === 'service' ? r.service : r.kind;
};

describe('the gateway route table', () => {
  it('sends devices, deployments, firmware, drift and deployment state to the lifecycle service', () => {
    expect(service('/v1/devices')).toBe('lifecycle');
    expect(service('/v1/devices/9b1e/transitions')).toBe('lifecycle');
    expect(service('/v1/deployments/9b1e/cancel')).toBe('lifecycle');
    expect(service('/v1/firmware')).toBe('lifecycle');
    expect(service('/v1/sites/9b1e/drift')).toBe('lifecycle');
    expect(service('/v1/assets/9b1e/deployment-state')).toBe('lifecycle');
  });

  it('sends login, organisations, users, tokens, the audit log and the JWKS to the admin service', () => {
    for (const p of ['/v1/auth/login', '/v1/orgs', '/v1/users/1/roles', '/v1/tokens/1', '/v1/audit', '/v1/audit/verify', '/v1/assets/9b1e/history', '/.well-known/jwks.json']) {
      expect(service(p)).toBe('admin');
    }
  });

  it('sends the rest of /v1 to the configuration service, by whole segments', () => {
    for (const p of ['/v1/sites', '/v1/sites/9b1e', '/v1/sites/9b1e/graph', '/v1/assets/9b1e/config', '/v1/models', '/v1/devicesX', '/v1/sites/9b1e/driftX']) {
      expect(service(p)).toBe('config');
    }
  });

  it('routes nothing internal, even percent-encoded, and nothing outside the API', () => {
    expect(service('/v1/internal/events/config')).toBe('internal');
    expect(service('/v1/%69nternal/events/admin')).toBe('internal');
    expect(service('/healthz')).toBe('none');
    expect(service('/v2/sites')).toBe('none');
    expect(service('/v1/%E0%A4%A')).toBe('none');
    expect(service('/v1/auth/service-token')).toBe('internal');
    expect(service('/v1/auth/login')).toBe('admin');
    for (const p of ['/v1/./internal/events/config', '/v1/sites/../internal/x', '/v1/%2E/devices', '/v1/sites/x/./drift']) expect(service(p)).toBe('none');
  });
});
