import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Where a running `rema serve` notes the URL of its embedded MQTT broker. */
export const brokerUrlFile = (dataDir: string) => path.join(dataDir, '.mqtt-url');

/** The embedded broker of a `rema serve` using `dataDir` (REMA_DATA_DIR or ./data), if one runs. */
export function embeddedBrokerUrl(dataDir = process.env.REMA_DATA_DIR ?? './data'): string | undefined {
  const file = brokerUrlFile(dataDir);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() || undefined : undefined;
}
