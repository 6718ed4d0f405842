/**
 * Side-by-side line diff of two JSON documents (pretty-printed with sorted keys), by longest
 * common subsequence — configurations are a few hundred lines at most.
 */
export interface DiffRow {
  left: string | null;
  right: string | null;
  kind: 'same' | 'removed' | 'added' | 'changed';
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

export const prettyJson = (v: unknown) => (v === null || v === undefined ? '' : JSON.stringify(sortKeys(v), null, 2));

export function diffLines(before: unknown, after: unknown): DiffRow[] {
  const a = prettyJson(before).split('\n').filter((l) => l !== '');
  const b = prettyJson(after).split('\n').filter((l) => l !== '');
  if (before === null || before === undefined) return b.map((l) => ({ left: null, right: l, kind: 'added' }));
  if (after === null || after === undefined) return a.map((l) => ({ left: l, right: null, kind: 'removed' }));
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const rows: DiffRow[] = [];
  let i = 0;
  let j = 0;
  const removed: string[] = [];
  const added: string[] = [];
  const flush = () => {
    const k = Math.max(removed.length, added.length);
    for (let x = 0; x < k; x++) {
      const l = removed[x] ?? null;
      const r = added[x] ?? null;
      rows.push({ left: l, right: r, kind: l !== null && r !== null ? 'changed' : l !== null ? 'removed' : 'added' });
    }
    removed.length = 0;
    added.length = 0;
  };
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      flush();
      rows.push({ left: a[i], right: b[j], kind: 'same' });
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i][j + 1] >= lcs[i + 1][j])) added.push(b[j++]);
    else removed.push(a[i++]);
  }
  flush();
  return rows;
}
