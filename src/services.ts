/** The three services; `rema serve --only <name>` runs one of them (see src/server.ts). */
export type ServiceName = 'config' | 'lifecycle' | 'admin';

export const SERVICE_NAMES: readonly ServiceName[] = ['config', 'lifecycle', 'admin'];

/** Where the other services listen, for a process that runs one service. */
export interface PeerUrls {
  /** `REMA_CONFIG_URL`: the lifecycle service calls the configuration service and reads its events. */
  config?: string;
  /** `REMA_LIFECYCLE_URL`: nobody but the gateway calls the lifecycle service. */
  lifecycle?: string;
  /** `REMA_ADMIN_URL`: JWKS, token introspection, service tokens and the admin event feed. */
  admin?: string;
}
