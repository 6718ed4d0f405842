import { describe, expect, it } from 'vitest';
import { isTimeZone } from './time-zones.ts';

describe('isTimeZone', () => {
  it('takes zones of the IANA database as they are spelt there, aliases included', () => {
    for (const name of ['Europe/Berlin', 'America/Port-au-Prince', 'UTC', 'Etc/UTC', 'Etc/GMT+5', 'Asia/Kolkata', 'Asia/Calcutta']) expect([name, isTimeZone(name)]).toEqual([name, true]);
  });

  it('refuses a zone in another case, which a device looking it up by file name would not find, and names of no zone', () => {
    for (const name of ['EUROPE/BERLIN', 'europe/berlin', 'utc', 'Mars/Olympus', '+01:00', 'Europe/Berlin ', '']) expect([name, isTimeZone(name)]).toEqual([name, false]);
  });
});
