/** IANA time zones this runtime knows (plus UTC, which `supportedValuesOf` leaves out). */
const ZONES = new Set<string>([...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC']);

/** Why `tz` is not a usable site time zone, or undefined when it is. */
export function timezoneProblem(tz: string): string | undefined {
  if (ZONES.has(tz)) return undefined;
  return `"${tz}" is not an IANA time zone; use a name such as Europe/Berlin, America/Chicago or UTC`;
}
