import { buildGateway } from '../gateway/gateway.ts';
import { loggerFromEnv } from './log-level.ts';
import { trustProxyFromEnv } from './trust-proxy.ts';

export interface GatewayCommandOptions {
  port: number;
  host: string;
  configUrl?: string;
  lifecycleUrl?: string;
  adminUrl?: string;
}

/** `rema gateway`: the public entry point in front of the services run apart (`rema serve --only …`). */
export async function gatewayCommand(opts: GatewayCommandOptions): Promise<void> {
  const missing = (['config', 'lifecycle', 'admin'] as const).filter((s) => !opts[`${s}Url`]);
  if (missing.length > 0) {
    throw new Error(`rema gateway needs the URL of every service; missing: ${missing.map((s) => `--${s}-url (REMA_${s.toUpperCase()}_URL)`).join(', ')}`);
  }
  const app = await buildGateway({
    upstreams: { config: opts.configUrl as string, lifecycle: opts.lifecycleUrl as string, admin: opts.adminUrl as string },
    logger: loggerFromEnv(process.env.REMA_LOG),
    trustProxy: trustProxyFromEnv(process.env.REMA_TRUST_PROXY),
  });
  await app.listen({ port: opts.port, host: opts.host });
  const url = `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${opts.port}`;
  console.log(`rema gateway is listening on ${url}`);
  console.log(`API docs:  ${url}/docs`);
  console.log(`services:  config ${opts.configUrl}, lifecycle ${opts.lifecycleUrl}, admin ${opts.adminUrl}`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down`);
    await app.close().catch((err) => console.error(err));
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
