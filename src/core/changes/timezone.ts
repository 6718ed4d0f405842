/**
 * Why `tz` is not a usable site time zone, or undefined when it is. The runtime's time-zone
 * database decides, including links such as Asia/Kolkata that `Intl.supportedValuesOf` lists
 * only under their canonical name (Asia/Calcutta on Node 20).
 */
export function timezoneProblem(tz: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return undefined;
  } catch {
    return `"${tz}" is not an IANA time zone; use a name such as Europe/Berlin, America/Chicago or UTC`;
  }
}
