import { describe, expect, it } from 'vitest';
import { timezoneProblem } from './timezone.ts';

describe('timezoneProblem', () => {
  it('accepts canonical zones, links and UTC', () => {
    for (const tz of ['Europe/Berlin', 'Asia/Kolkata', 'Asia/Calcutta', 'America/Chicago', 'UTC']) expect(timezoneProblem(tz)).toBeUndefined();
  });
  it('refuses names that are no zone', () => {
    expect(timezoneProblem('Not/AZone')).toMatch(/not an IANA time zone/);
    expect(timezoneProblem('Mars/Olympus')).toBeDefined();
  });
});

describe('the seeded fleet', () => {
  it('uses only time zones a site may have', async () => {
    const { CITIES } = await import('../../seed/site-identity.ts');
    expect(CITIES.map(([, tz]) => tz).filter((tz) => timezoneProblem(tz) !== undefined)).toEqual([]);
  });
});
