/**
 * The PATCH types Kubernetes accepts: JSON patch (RFC 6902), JSON merge patch (RFC 7386)
 * and strategic merge patch (merge lists of named things by key, with `$patch` and
 * `$setElementOrder` directives). All functions return new values and never mutate input.
 */
import { ApiError } from './status.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);
const unprocessable = (msg: string) => new ApiError(422, 'Invalid', msg);

/** RFC 7386: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v) as Json;
  }
  return out;
}

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/'))
    throw unprocessable(
      `the server rejected our request due to an error in our request: invalid path "${path}"`,
    );
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function walk(doc: unknown, parts: string[], path: string): unknown {
  let cur = doc;
  for (const p of parts) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = cur[p];
    else cur = undefined;
    if (cur === undefined)
      throw unprocessable(
        `the server rejected our request due to an error in our request: missing path "${path}"`,
      );
  }
  return cur;
}

/** RFC 6902 JSON patch: add, remove, replace, move, copy, test. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw new ApiError(
      400,
      'BadRequest',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  let root = clone(doc);
  for (const raw of ops as Op[]) {
    const parts = pointer(raw.path);
    const parentPath = parts.slice(0, -1);
    const last = parts[parts.length - 1] as string;
    const get = (p: string) => walk(root, pointer(p), p);
    const setAt = (value: unknown, insert: boolean) => {
      if (parts.length === 0) {
        root = value;
        return;
      }
      const parent = walk(root, parentPath, raw.path);
      if (Array.isArray(parent)) {
        const i = last === '-' ? parent.length : Number(last);
        if (!Number.isInteger(i) || i < 0 || i > parent.length)
          throw unprocessable(
            `the server rejected our request due to an error in our request: index out of range in "${raw.path}"`,
          );
        if (insert) parent.splice(i, 0, value);
        else parent[i] = value;
      } else if (isObject(parent)) {
        if (!insert && !(last in parent))
          throw unprocessable(
            `the server rejected our request due to an error in our request: missing path "${raw.path}"`,
          );
        parent[last] = value as Json;
      } else
        throw unprocessable(
          `the server rejected our request due to an error in our request: missing path "${raw.path}"`,
        );
    };
    const removeAt = () => {
      const parent = walk(root, parentPath, raw.path);
      if (Array.isArray(parent)) {
        const i = Number(last);
        if (!(i >= 0 && i < parent.length))
          throw unprocessable(
            `the server rejected our request due to an error in our request: missing path "${raw.path}"`,
          );
        return parent.splice(i, 1)[0];
      }
      if (isObject(parent) && last in parent) {
        const v = parent[last];
        delete parent[last];
        return v;
      }
      throw unprocessable(
        `the server rejected our request due to an error in our request: missing path "${raw.path}"`,
      );
    };
    switch (raw.op) {
      case 'add':
        setAt(clone(raw.value), true);
        break;
      case 'replace':
        setAt(clone(raw.value), false);
        break;
      case 'remove':
        removeAt();
        break;
      case 'move': {
        const v = get(raw.from ?? '');
        const fromParts = pointer(raw.from ?? '');
        const fp = walk(root, fromParts.slice(0, -1), raw.from ?? '');
        const fl = fromParts[fromParts.length - 1] as string;
        if (Array.isArray(fp)) fp.splice(Number(fl), 1);
        else if (isObject(fp)) delete fp[fl];
        setAt(v, true);
        break;
      }
      case 'copy':
        setAt(clone(get(raw.from ?? '')), true);
        break;
      case 'test':
        if (JSON.stringify(get(raw.path)) !== JSON.stringify(raw.value))
          throw unprocessable(
            `the server rejected our request due to an error in our request: testing value ${raw.path} failed`,
          );
        break;
      default:
        throw unprocessable(
          `the server rejected our request due to an error in our request: Unexpected kind: ${raw.op}`,
        );
    }
  }
  return root;
}

/** Merge keys of the lists that strategic merge patch merges by key (by field name). */
const mergeKeys: Record<string, string | ((item: JsonObject) => string)> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  env: 'name',
  volumes: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  imagePullSecrets: 'name',
  conditions: 'type',
  ports: (item) => ('containerPort' in item ? 'containerPort' : 'port'),
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
  ownerReferences: 'uid',
  taints: 'key',
  addresses: 'type',
  images: 'names',
};
/** Lists of scalars that merge as sets. */
const setLists = new Set(['finalizers']);

function keyOf(field: string, item: Json): string | undefined {
  const k = mergeKeys[field];
  if (!k || !isObject(item)) return undefined;
  return typeof k === 'string' ? k : k(item);
}

function mergeList(
  field: string,
  orig: Json[] | undefined,
  patch: Json[],
  order: Json[] | undefined,
): Json[] {
  const base = orig ? clone(orig) : [];
  const sample = patch.find(isObject) ?? base.find(isObject);
  const key = sample ? keyOf(field, sample) : undefined;
  if (!key) {
    if (setLists.has(field)) {
      const out = [...base];
      for (const v of patch) if (!out.some((x) => JSON.stringify(x) === JSON.stringify(v))) out.push(v);
      return out;
    }
    // Lists without a merge key are replaced, unless the patch says `$patch: replace` (same thing).
    return clone(patch.filter((p) => !(isObject(p) && p.$patch)));
  }
  if (patch.some((p) => isObject(p) && p.$patch === 'replace'))
    return clone(patch.filter((p) => !(isObject(p) && p.$patch === 'replace')));
  let out = base;
  for (const item of patch) {
    if (!isObject(item)) continue;
    const kv = JSON.stringify(item[key]);
    const idx = out.findIndex((x) => isObject(x) && JSON.stringify(x[key]) === kv);
    if (item.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = strategicMerge(out[idx], item) as Json;
    else out.push(strategicMerge(undefined, item) as Json);
  }
  if (order) {
    const pos = (x: Json) =>
      order.findIndex((o) => isObject(o) && isObject(x) && JSON.stringify(o[key]) === JSON.stringify(x[key]));
    const known = out.filter((x) => pos(x) >= 0).sort((a, b) => pos(a) - pos(b));
    out = [...known, ...out.filter((x) => pos(x) < 0)];
  }
  return out;
}

/**
 * Strategic merge patch: like merge patch, but lists with a merge key (containers by name,
 * ports by containerPort, ...) merge item by item, and the `$patch`, `$setElementOrder/x`,
 * `$deleteFromPrimitiveList/x` and `$retainKeys` directives are honoured.
 */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isObject(target) ? clone(target) : {};
  const retain = Array.isArray(patch.$retainKeys) ? (patch.$retainKeys as string[]) : undefined;
  if (retain) for (const k of Object.keys(out)) if (!retain.includes(k) && !(k in patch)) delete out[k];
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[f];
      if (Array.isArray(cur) && Array.isArray(v))
        out[f] = cur.filter((x) => !v.some((d) => JSON.stringify(d) === JSON.stringify(x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const order = patch[`$setElementOrder/${k}`];
    if (Array.isArray(v)) {
      const cur = out[k];
      out[k] = mergeList(
        k,
        Array.isArray(cur) ? cur : undefined,
        v,
        Array.isArray(order) ? order : undefined,
      );
    } else if (isObject(v)) {
      const merged = strategicMerge(out[k], v);
      if (merged === undefined) delete out[k];
      else out[k] = merged as Json;
    } else out[k] = v;
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/')) continue;
    const f = k.slice('$setElementOrder/'.length);
    if (f in patch || !Array.isArray(order)) continue;
    const cur = out[f];
    if (Array.isArray(cur)) out[f] = mergeList(f, cur, [], order);
  }
  return out;
}
