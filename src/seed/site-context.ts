import type { Rng } from './prng.ts';
import type { SerialMint } from './serial-mint.ts';
import type { SiteProfile } from './site-identity.ts';

/** Per-site running numbers for names: `GW-01`, `EM-07`, `AHU-02`. */
export class NameBook {
  private readonly counters = new Map<string, number>();

  next(prefix: string): string {
    const n = (this.counters.get(prefix) ?? 0) + 1;
    this.counters.set(prefix, n);
    return `${prefix}-${String(n).padStart(2, '0')}`;
  }
}

/**
 * Host addresses of a site's /24: gateways from .10, IP devices from .100 (the way a site's
 * address plan is usually laid out), either spilling into any free host address when its
 * range is full. The router (.1), network (.0) and broadcast (.255) addresses are never given.
 */
export class IpPool {
  private readonly used = new Set<number>([0, 1, 255]);

  constructor(private readonly base: string) {}

  /** A free address, or undefined when the subnet is full. */
  take(role: 'gateway' | 'device'): string | undefined {
    const start = role === 'gateway' ? 10 : 100;
    for (const from of [start, 2]) {
      for (let host = from; host <= 254; host++) {
        if (this.used.has(host)) continue;
        this.used.add(host);
        return `${this.base}.${host}`;
      }
    }
    return undefined;
  }
}

/** What the planners of one site share: its random stream, profile and allocators. */
export interface SiteContext {
  rng: Rng;
  code: string;
  profile: SiteProfile;
  serials: SerialMint;
  names: NameBook;
  ips: IpPool;
  /** BACnet device instances, unique in the site (one BACnet internetwork). */
  nextBacnetInstance(): number;
}
