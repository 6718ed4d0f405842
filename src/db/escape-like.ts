/** Escapes `%`, `_` and `\` so a search term matches literally inside `LIKE '%' || $n || '%'`. */
export const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);
