/**
 * Overlay merge for Envoy resources, the way an Istio EnvoyFilter MERGE patches generated config:
 * objects merge key by key; lists whose items all carry a `name` merge by name (a fix touches one
 * filter of one chain without restating the rest); other lists are replaced; `null` deletes a key.
 * A new named item is appended, or placed before the item named by its `$insert_before`
 * (EnvoyFilter's INSERT_BEFORE: a Lua filter must run before the router); an item with
 * `$delete: true` removes the base item of that name (EnvoyFilter's REMOVE).
 */

type Json = unknown;

/** An overlay that names something its base does not have; loadVariant adds the file name. */
export class OverlayError extends Error {
  override name = 'OverlayError';
}
type Obj = Record<string, Json>;

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNamedList = (v: Json): v is Obj[] => Array.isArray(v) && v.length > 0 && v.every((i) => isObj(i) && typeof i.name === 'string');

export function mergeOverlay(base: Json, overlay: Json): Json {
  if (overlay === undefined) return base;
  if (isObj(base) && isObj(overlay)) {
    const out: Obj = { ...base };
    for (const [key, value] of Object.entries(overlay)) {
      if (value === null) delete out[key];
      else out[key] = mergeOverlay(base[key], value);
    }
    return out;
  }
  if (isNamedList(base) && isNamedList(overlay)) return mergeNamedLists(base, overlay);
  return stripDirectives(overlay);
}

function mergeNamedLists(base: Obj[], overlay: Obj[]): Obj[] {
  const out = base.map((i) => ({ ...i }));
  for (const item of overlay) {
    const at = out.findIndex((i) => i.name === item.name);
    if (item.$delete === true) {
      if (at < 0) throw new OverlayError(`overlay deletes "${String(item.name)}", which the base does not have (it has: ${out.map((i) => i.name).join(', ')})`);
      out.splice(at, 1);
      continue;
    }
    if (at >= 0) {
      out[at] = mergeOverlay(out[at], item) as Obj;
      continue;
    }
    const { $insert_before: before, ...rest } = item;
    const clean = stripDirectives(rest) as Obj;
    const anchor = typeof before === 'string' ? out.findIndex((i) => i.name === before) : -1;
    if (typeof before === 'string' && anchor < 0) {
      throw new OverlayError(`overlay item "${String(item.name)}" wants $insert_before "${before}", which the base does not have (it has: ${out.map((i) => i.name).join(', ')})`);
    }
    if (anchor >= 0) out.splice(anchor, 0, clean);
    else out.push(clean);
  }
  return out;
}

function stripDirectives(v: Json): Json {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (!isObj(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== '$insert_before' && k !== '$delete').map(([k, x]) => [k, stripDirectives(x)]));
}
