/**
 * Site time zones: names of the IANA database, spelt as they are there. The runtime's time-zone
 * database decides which names exist, including links such as Asia/Kolkata that
 * `Intl.supportedValuesOf` lists only under their canonical name (Asia/Calcutta on Node 20).
 * Devices look zones up by name, case-sensitively on most systems (a zoneinfo file), but `Intl`
 * matches names in any case: `europe/berlin` resolves to Europe/Berlin and would not be found on
 * the device. So a name that differs from the zone it resolves to only in case is refused, and
 * so is a link (which resolves to another name) not spelt as IANA spells names: each part
 * begins with a capital, none is a word in capitals (`US/Eastern`, not `us/eastern` or
 * `US/EASTERN`). Offsets (`+01:00`), which newer runtimes take as zones, are not names.
 */

/** A part of a zone name as IANA spells them: `Europe`, `Port-au-Prince`, `GMT+5`, `EST5EDT`, `NZ-CHAT`. */
const NAME_PART = /^[A-Z](?![A-Z]{3,}$)[A-Za-z0-9_+-]*$/;

/**
 * Whether `name` is a time zone of the IANA database, spelt as it is there.
 *
 * @example
 * isTimeZone('Europe/Berlin'); // true
 * isTimeZone('EUROPE/BERLIN'); // false
 * isTimeZone('Mars/Olympus');  // false
 */
export function isTimeZone(name: string): boolean {
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return false;
  }
  if (!/^[A-Za-z]/.test(name)) return false;
  if (resolved === name) return true;
  return resolved.toLowerCase() !== name.toLowerCase() && name.split('/').every((part) => NAME_PART.test(part));
}

/** Why `tz` is not a usable site time zone, or undefined when it is. */
export function timezoneProblem(tz: string): string | undefined {
  if (isTimeZone(tz)) return undefined;
  return `"${tz}" is not a time zone of the IANA database as it spells them; use a name such as Europe/Berlin, America/Chicago or UTC`;
}
