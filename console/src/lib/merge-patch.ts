/** JSON Merge Patch (RFC 7396): make one from two documents, apply one to a third. */
type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function createMergePatch(from: Json, to: Json): Json {
  if (!isObj(from) || !isObj(to)) return to;
  const patch: Record<string, Json> = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (!(k in from)) patch[k] = v;
    else if (JSON.stringify(from[k]) !== JSON.stringify(v)) patch[k] = isObj(from[k]) && isObj(v) ? createMergePatch(from[k], v) : v;
  }
  return patch;
}

export function applyMergePatch(target: Json, patch: Json): Json {
  if (!isObj(patch)) return patch;
  const out: Record<string, Json> = isObj(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

export const isEmptyPatch = (p: Json) => isObj(p) && Object.keys(p).length === 0;
