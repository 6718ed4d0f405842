import type { Rng } from './prng.ts';
import type { SiteCreateBody } from './plan-types.ts';

/** What kind of building a site is; it decides the mix of equipment. */
export type SiteProfile = 'office' | 'retail' | 'warehouse' | 'factory' | 'school' | 'hospital';

/** Cities with their IANA time zones, spread over the regions a multinational fleet covers. */
export const CITIES: ReadonlyArray<readonly [string, string]> = [
  ['Berlin', 'Europe/Berlin'],
  ['Munich', 'Europe/Berlin'],
  ['Hamburg', 'Europe/Berlin'],
  ['Frankfurt', 'Europe/Berlin'],
  ['Vienna', 'Europe/Vienna'],
  ['Zurich', 'Europe/Zurich'],
  ['London', 'Europe/London'],
  ['Manchester', 'Europe/London'],
  ['Dublin', 'Europe/Dublin'],
  ['Paris', 'Europe/Paris'],
  ['Lyon', 'Europe/Paris'],
  ['Madrid', 'Europe/Madrid'],
  ['Barcelona', 'Europe/Madrid'],
  ['Lisbon', 'Europe/Lisbon'],
  ['Milan', 'Europe/Rome'],
  ['Amsterdam', 'Europe/Amsterdam'],
  ['Brussels', 'Europe/Brussels'],
  ['Copenhagen', 'Europe/Copenhagen'],
  ['Stockholm', 'Europe/Stockholm'],
  ['Oslo', 'Europe/Oslo'],
  ['Helsinki', 'Europe/Helsinki'],
  ['Warsaw', 'Europe/Warsaw'],
  ['Prague', 'Europe/Prague'],
  ['Athens', 'Europe/Athens'],
  ['Istanbul', 'Europe/Istanbul'],
  ['New York', 'America/New_York'],
  ['Boston', 'America/New_York'],
  ['Atlanta', 'America/New_York'],
  ['Chicago', 'America/Chicago'],
  ['Dallas', 'America/Chicago'],
  ['Denver', 'America/Denver'],
  ['Phoenix', 'America/Phoenix'],
  ['Los Angeles', 'America/Los_Angeles'],
  ['Seattle', 'America/Los_Angeles'],
  ['Toronto', 'America/Toronto'],
  ['Mexico City', 'America/Mexico_City'],
  ['Sao Paulo', 'America/Sao_Paulo'],
  ['Buenos Aires', 'America/Argentina/Buenos_Aires'],
  ['Dubai', 'Asia/Dubai'],
  ['Mumbai', 'Asia/Kolkata'],
  ['Bangalore', 'Asia/Kolkata'],
  ['Singapore', 'Asia/Singapore'],
  ['Hong Kong', 'Asia/Hong_Kong'],
  ['Shanghai', 'Asia/Shanghai'],
  ['Seoul', 'Asia/Seoul'],
  ['Tokyo', 'Asia/Tokyo'],
  ['Sydney', 'Australia/Sydney'],
  ['Melbourne', 'Australia/Melbourne'],
  ['Auckland', 'Pacific/Auckland'],
  ['Johannesburg', 'Africa/Johannesburg'],
];

const PROFILES: ReadonlyArray<readonly [SiteProfile, number]> = [
  ['retail', 30],
  ['office', 25],
  ['warehouse', 15],
  ['factory', 10],
  ['school', 10],
  ['hospital', 10],
];

const BUILDINGS: Record<SiteProfile, readonly string[]> = {
  office: ['Office', 'Headquarters', 'Business Park', 'Tower'],
  retail: ['Store', 'Supermarket', 'Mall', 'Outlet'],
  warehouse: ['Distribution Centre', 'Warehouse', 'Logistics Hub'],
  factory: ['Plant', 'Factory', 'Works'],
  school: ['Campus', 'School', 'Training Centre'],
  hospital: ['Clinic', 'Hospital', 'Medical Centre'],
};

const VLANS = [10, 20, 100, 110, 200, 310];

/** `S0001`, or `B-S0001` for a second fleet seeded with `--prefix B`. */
export function siteCode(index: number, prefix: string): string {
  const code = `S${String(index + 1).padStart(4, '0')}`;
  return prefix ? `${prefix}-${code}` : code;
}

/**
 * The subnet of site `index`: `10.16.0.0/24`, `10.16.1.0/24`, … one /24 per site, so sites never
 * overlap and 61,440 sites fit under 10.16.0.0/12–10.255.255.0.
 */
export function siteSubnet(index: number): { subnet: string; base: string } {
  const second = 16 + Math.floor(index / 256);
  if (second > 255) throw new Error(`site ${index + 1}: no /24 left in 10.16.0.0–10.255.255.0 for this many sites`);
  const base = `10.${second}.${index % 256}`;
  return { subnet: `${base}.0/24`, base };
}

/** Names already given in the fleet, so two sites in one city are told apart. */
export class SiteNames {
  private readonly seen = new Map<string, number>();

  unique(name: string): string {
    const n = (this.seen.get(name) ?? 0) + 1;
    this.seen.set(name, n);
    return n === 1 ? name : `${name} ${n}`;
  }
}

/** Site create body and building profile of site `index`. */
export function siteIdentity(rng: Rng, index: number, prefix: string, names: SiteNames): { create: SiteCreateBody; profile: SiteProfile; base: string } {
  const [city, timezone] = rng.pick(CITIES);
  const profile = rng.weighted(PROFILES);
  const { subnet, base } = siteSubnet(index);
  return {
    create: {
      code: siteCode(index, prefix),
      name: names.unique(`${city} ${rng.pick(BUILDINGS[profile])}`),
      timezone,
      network: { subnet, router: `${base}.1`, vlan: rng.pick(VLANS) },
    },
    profile,
    base,
  };
}
