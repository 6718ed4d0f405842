import net from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * An in-process MQTT 3.1.1 broker (aedes) for `npm start`: on 127.0.0.1, the given port or the
 * next free one. Retained messages live in memory, so they go with the process.
 */
export async function startEmbeddedBroker(opts: { port?: number } = {}): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const first = opts.port ?? 18830;
  for (let port = first; port < first + 10; port++) {
    const server = net.createServer(broker.handle);
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!ok) continue;
    return {
      url: `mqtt://127.0.0.1:${port}`,
      port,
      close: () =>
        new Promise<void>((resolve) => {
          broker.close(() => server.close(() => resolve()));
        }),
    };
  }
  throw new Error(`no free port for the embedded MQTT broker in ${first}–${first + 9}`);
}
