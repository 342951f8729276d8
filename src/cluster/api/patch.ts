/**
 * The PATCH types Kubernetes accepts: JSON patch (RFC 6902), JSON merge patch (RFC 7386)
 * and strategic merge patch (merge lists of named things by key, with `$patch` and
 * `$setElementOrder` directives). All functions return new values and never mutate input.
 */
import { protoField, protoMessage } from './k8s-proto.js';
import { maxJsonPatchCopyBytes, maxJsonPatchOperations } from './limits.js';
import { ApiError } from './status.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const clone = <T>(v: T): T => structuredClone(v);
const unprocessable = (msg: string) => new ApiError(422, 'Invalid', msg);

/** Sets a key as an own property, even `__proto__`, which plain assignment treats as the prototype. */
function setKey(o: JsonObject, k: string, v: Json): void {
  if (k === '__proto__')
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Deep equality of JSON values, stopping at the first difference (object key order does not matter). */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => jsonEqual(x, b[i]));
  }
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

/** RFC 7386: objects merge, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  return mergeInto(clone(target) as Json | undefined, patch);
}

/** Merge patch into a value this call owns (already a copy), so each level is copied once only. */
function mergeInto(cur: Json | undefined, patch: unknown): Json {
  if (!isObject(patch)) return clone(patch) as Json;
  const out: JsonObject = isObject(cur) ? cur : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else setKey(out, k, mergeInto(out[k], v));
  }
  return out;
}

interface Op {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

const rejected = (what: string) =>
  unprocessable(`the server rejected our request due to an error in our request: ${what}`);

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw rejected(`invalid path "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function walk(doc: unknown, parts: string[], path: string): unknown {
  let cur = doc;
  for (const p of parts) {
    if (Array.isArray(cur)) cur = cur[Number(p)];
    else if (isObject(cur)) cur = Object.hasOwn(cur, p) ? cur[p] : undefined;
    else cur = undefined;
    if (cur === undefined) throw rejected(`missing path "${path}"`);
  }
  return cur;
}

/**
 * RFC 6902 JSON patch: add, remove, replace, move, copy, test. Bounded as kube-apiserver
 * bounds it: at most 10,000 operations (413), and `copy` may add at most 3 MiB in all (422),
 * so a small patch cannot build a huge object.
 */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops))
    throw new ApiError(
      400,
      'BadRequest',
      'json: cannot unmarshal object into Go value of type jsonpatch.Patch',
    );
  if (ops.length > maxJsonPatchOperations)
    throw new ApiError(
      413,
      'RequestEntityTooLarge',
      `The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${ops.length}`,
    );
  let root = clone(doc);
  let copied = 0;
  for (const raw of ops as Op[]) {
    if (!isObject(raw) || typeof raw.path !== 'string')
      throw rejected(`an operation needs a "path" string: ${JSON.stringify(raw).slice(0, 200)}`);
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
          throw rejected(`index out of range in "${raw.path}"`);
        if (insert) parent.splice(i, 0, value);
        else parent[i] = value;
      } else if (isObject(parent)) {
        if (!insert && !Object.hasOwn(parent, last)) throw rejected(`missing path "${raw.path}"`);
        setKey(parent, last, value as Json);
      } else throw rejected(`missing path "${raw.path}"`);
    };
    const removeAt = () => {
      const parent = walk(root, parentPath, raw.path);
      if (Array.isArray(parent)) {
        const i = Number(last);
        if (!(i >= 0 && i < parent.length)) throw rejected(`missing path "${raw.path}"`);
        return parent.splice(i, 1)[0];
      }
      if (isObject(parent) && Object.hasOwn(parent, last)) {
        const v = parent[last];
        delete parent[last];
        return v;
      }
      throw rejected(`missing path "${raw.path}"`);
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
      case 'copy': {
        const v = get(raw.from ?? '');
        // Counted before the copy is made: the limit is what keeps a 2 KB patch of copies
        // that double a list from building a 68 MB object.
        copied += JSON.stringify(v).length;
        if (copied > maxJsonPatchCopyBytes)
          throw rejected(
            `Unable to copy, would exceed max size: copies total more than ${maxJsonPatchCopyBytes} bytes`,
          );
        setAt(clone(v), true);
        break;
      }
      case 'test':
        // Compared value by value, so the work is bounded by the patch's own value.
        if (!jsonEqual(get(raw.path), raw.value)) throw rejected(`testing value ${raw.path} failed`);
        break;
      default:
        throw rejected(`Unexpected kind: ${raw.op}`);
    }
  }
  return root;
}

/**
 * How strategic merge treats a field, from the schema (k8s-proto.ts): its type, and for a list
 * its patch merge key, or that it merges as a set (`patchStrategy: merge` without a key).
 */
interface FieldSchema {
  type: string;
  mergeKey?: string;
  set?: boolean;
}

/** The schema of field `k` of a value of `type`; undefined where there is none (custom resources). */
function fieldSchema(type: string | undefined, k: string): FieldSchema | undefined {
  if (!type) return undefined;
  if (type.startsWith('{}')) return { type: type.slice(2) };
  const msg = protoMessage(type);
  const f = msg && protoField(msg, k);
  if (!f) return undefined;
  const merge = f.patchStrategy?.split(',').includes('merge') ?? false;
  if (!merge) return { type: f.type };
  return f.patchMergeKey ? { type: f.type, mergeKey: f.patchMergeKey } : { type: f.type, set: true };
}

/**
 * Merge keys of the lists that strategic merge patch merges by key, by field name: for values
 * without a schema (custom resources), as kubectl's patches for them expect.
 */
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

/** The identity of a list item or a scalar, for lookups in a Map or Set. */
const ident = (v: Json | undefined) => JSON.stringify(v) ?? 'undefined';

/**
 * Merges a patch list into `base`, a list this call owns. Items are found by their merge key
 * through a Map, so a patch of n items into a list of m costs O(n + m), not O(n * m): a patch
 * of a few thousand items must not hold the event loop for seconds.
 */
function mergeList(
  field: string,
  base: Json[],
  patch: Json[],
  order: Json[] | undefined,
  schema: FieldSchema | undefined,
): Json[] {
  const sample = patch.find(isObject) ?? base.find(isObject);
  const key = schema ? schema.mergeKey : sample ? keyOf(field, sample) : undefined;
  const itemType = schema?.type.startsWith('[]') ? schema.type.slice(2) : undefined;
  if (!key) {
    if (schema ? schema.set : setLists.has(field)) {
      const seen = new Set(base.map(ident));
      for (const v of patch) {
        const id = ident(v);
        if (seen.has(id)) continue;
        seen.add(id);
        base.push(clone(v));
      }
      return base;
    }
    // Lists without a merge key are replaced, unless the patch says `$patch: replace` (same thing).
    return clone(patch.filter((p) => !(isObject(p) && p.$patch)));
  }
  if (patch.some((p) => isObject(p) && p.$patch === 'replace'))
    return clone(patch.filter((p) => !(isObject(p) && p.$patch === 'replace')));
  // Positions of the items with each key value, first first (a list may repeat a key).
  const at = new Map<string, number[]>();
  const index = (id: string, i: number) => {
    const list = at.get(id);
    if (list) list.push(i);
    else at.set(id, [i]);
  };
  base.forEach((x, i) => {
    if (isObject(x)) index(ident(x[key]), i);
  });
  const removed = new Set<number>();
  for (const item of patch) {
    if (!isObject(item)) continue;
    const id = ident(item[key]);
    const i = at.get(id)?.[0];
    if (item.$patch === 'delete') {
      if (i !== undefined) {
        removed.add(i);
        at.get(id)?.shift();
      }
      continue;
    }
    if (i !== undefined) base[i] = smp(base[i], item, itemType) as Json;
    else {
      base.push(smp(undefined, item, itemType) as Json);
      index(id, base.length - 1);
    }
  }
  let out = removed.size ? base.filter((_, i) => !removed.has(i)) : base;
  if (order) {
    const pos = new Map<string, number>();
    order.forEach((o, i) => {
      if (isObject(o) && !pos.has(ident(o[key]))) pos.set(ident(o[key]), i);
    });
    const posOf = (x: Json) => (isObject(x) ? pos.get(ident(x[key])) : undefined);
    const known = out.filter((x) => posOf(x) !== undefined);
    known.sort((a, b) => (posOf(a) as number) - (posOf(b) as number));
    out = [...known, ...out.filter((x) => posOf(x) === undefined)];
  }
  return out;
}

/**
 * Strategic merge patch: like merge patch, but lists with a merge key (containers by name,
 * ports by containerPort, ...) merge item by item, and the `$patch`, `$setElementOrder/x`,
 * `$deleteFromPrimitiveList/x` and `$retainKeys` directives are honoured.
 */
export function strategicMerge(target: unknown, patch: unknown, type?: string): unknown {
  return smp(clone(target) as Json | undefined, patch, type);
}

/**
 * Strategic merge into a value this call owns (already a copy): each level is copied once
 * only. `type` is the value's schema message, which gives lists their merge keys.
 */
function smp(cur: Json | undefined, patch: unknown, type?: string): Json | undefined {
  if (!isObject(patch)) return clone(patch) as Json;
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return clone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: JsonObject = isObject(cur) ? cur : {};
  if (Array.isArray(patch.$retainKeys)) {
    const retain = new Set(patch.$retainKeys);
    for (const k of Object.keys(out)) if (!retain.has(k) && !Object.hasOwn(patch, k)) delete out[k];
  }
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      const list = out[f];
      if (Array.isArray(list) && Array.isArray(v)) {
        const gone = new Set(v.map(ident));
        out[f] = list.filter((x) => !gone.has(ident(x)));
      }
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    const order = patch[`$setElementOrder/${k}`];
    if (Array.isArray(v)) {
      const list = out[k];
      setKey(
        out,
        k,
        mergeList(
          k,
          Array.isArray(list) ? list : [],
          v,
          Array.isArray(order) ? order : undefined,
          fieldSchema(type, k),
        ),
      );
    } else if (isObject(v)) {
      const merged = smp(out[k], v, fieldSchema(type, k)?.type);
      if (merged === undefined) delete out[k];
      else setKey(out, k, merged);
    } else setKey(out, k, v);
  }
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith('$setElementOrder/')) continue;
    const f = k.slice('$setElementOrder/'.length);
    if (Object.hasOwn(patch, f) || !Array.isArray(order)) continue;
    const list = out[f];
    if (Array.isArray(list)) out[f] = mergeList(f, list, [], order, fieldSchema(type, f));
  }
  return out;
}
