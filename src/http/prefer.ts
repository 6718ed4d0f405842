/**
 * The `Prefer` request header (RFC 7240): comma-separated preferences, each `name[=value]`
 * with optional `;` parameters, values as tokens or quoted strings. Only the first instance of
 * a preference counts (§2); names and values compare case-insensitively here.
 *
 * @example
 *   preference('respond-async, return=minimal; foo=bar', 'return') // 'minimal'
 *   preference('foo="a,return=minimal"', 'return')                 // undefined
 */
export function preference(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const wanted = name.toLowerCase();
  for (const item of splitOutsideQuotes(Array.isArray(header) ? header.join(',') : header, ',')) {
    const [head] = splitOutsideQuotes(item, ';');
    const eq = head.indexOf('=');
    const key = (eq === -1 ? head : head.slice(0, eq)).trim().toLowerCase();
    if (key !== wanted) continue;
    if (eq === -1) return '';
    return unquote(head.slice(eq + 1).trim())?.toLowerCase();
  }
  return undefined;
}

/** `text` cut at each `separator` that is not inside a quoted string (`\` escapes inside quotes). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted && c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && c === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** A token as it is, a quoted string without its quotes and escapes; undefined when a quote is unbalanced. */
function unquote(value: string): string | undefined {
  if (!value.startsWith('"')) return value.includes('"') ? undefined : value;
  if (value.length < 2 || !value.endsWith('"') || value.endsWith('\\"')) return undefined;
  return value.slice(1, -1).replace(/\\(.)/g, '$1');
}
