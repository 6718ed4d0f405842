import { describe, expect, it } from 'vitest';
import { isTimeZone, timezoneProblem } from './timezone.ts';

describe('timezoneProblem', () => {
  it('accepts canonical zones, links and UTC', () => {
    for (const tz of ['Europe/Berlin', 'Asia/Kolkata', 'Asia/Calcutta', 'America/Chicago', 'UTC']) expect(timezoneProblem(tz)).toBeUndefined();
  });
  it('refuses names that are no zone', () => {
    expect(timezoneProblem('Not/AZone')).toMatch(/not a time zone of the IANA database/);
    expect(timezoneProblem('Mars/Olympus')).toBeDefined();
  });
});

describe('isTimeZone', () => {
  it('takes zones of the IANA database as they are spelt there, links included', () => {
    for (const name of ['Europe/Berlin', 'America/Port-au-Prince', 'UTC', 'Etc/UTC', 'GMT', 'Etc/GMT+5', 'EST5EDT', 'US/Eastern', 'NZ-CHAT', 'Asia/Kolkata', 'Asia/Calcutta']) {
      expect([name, isTimeZone(name)]).toEqual([name, true]);
    }
  });

  it('refuses a zone or link in another case, which a device looking it up by file name would not find, and names of no zone', () => {
    for (const name of ['EUROPE/BERLIN', 'europe/berlin', 'utc', 'etc/utc', 'gmt', 'us/eastern', 'US/EASTERN', 'est', 'Mars/Olympus', '+01:00', 'Europe/Berlin ', '']) {
      expect([name, isTimeZone(name)]).toEqual([name, false]);
    }
  });
});

describe('the seeded fleet', () => {
  it('uses only time zones a site may have', async () => {
    const { CITIES } = await import('../../seed/site-identity.ts');
    expect(CITIES.map(([, tz]) => tz).filter((tz) => timezoneProblem(tz) !== undefined)).toEqual([]);
  });
});
