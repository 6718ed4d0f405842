/** Short vendor codes that start serial numbers, the way nameplates carry a maker's prefix. */
const VENDOR_CODES: Record<string, string> = {
  'Nexa Systems': 'NXS',
  Orbis: 'ORB',
  'Kelvo Controls': 'KLV',
  Ardent: 'ARD',
  Voltis: 'VLT',
  Ampera: 'AMP',
  Thermia: 'THM',
  Humix: 'HMX',
  Presso: 'PRS',
  AirQ: 'AQ',
  Contacta: 'CTA',
};

/**
 * Hands out serial numbers unique across the whole fleet: vendor code plus a running number per
 * vendor (`KLV-0000042`). A second fleet seeded with a prefix gets its own series
 * (`KLV-B-0000042`), so both can live in one database without a serial clash.
 */
export class SerialMint {
  private readonly counters = new Map<string, number>();

  constructor(private readonly tag: string) {}

  next(vendor: string): string {
    const code = VENDOR_CODES[vendor] ?? vendor.replace(/[^A-Za-z]/g, '').slice(0, 3).toUpperCase();
    const n = (this.counters.get(code) ?? 0) + 1;
    this.counters.set(code, n);
    return `${code}-${this.tag ? `${this.tag}-` : ''}${String(n).padStart(7, '0')}`;
  }
}
