/**
 * Whether `name` is a time zone of the IANA database, spelt as it is there. Devices look zones
 * up by name, case-sensitively on most systems (a zoneinfo file), so `europe/berlin` — which
 * `Intl` reads as Europe/Berlin — would not be found on the device. A name that differs from the
 * zone `Intl` resolves it to only in case is refused; an alias (`Asia/Kolkata`, `Etc/UTC`,
 * which `Intl` may resolve to another name of the same zone) is taken as written.
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
  return resolved === name || resolved.toLowerCase() !== name.toLowerCase();
}
