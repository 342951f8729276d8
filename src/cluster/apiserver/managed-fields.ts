/**
 * managedFields and server-side apply. Each manager's entry records the fields it set, as a
 * FieldsV1 set (`{"f:spec":{"f:replicas":{}}}`). Server-side apply merges the applied
 * configuration into the live object (lists by merge key, as strategic merge does), then
 * removes the fields this manager applied last time, no longer applies and no other manager
 * owns. Applying a field that another manager owns with a different value is a conflict (409)
 * unless forced, and an update takes ownership of the fields it changes, as upstream's field
 * manager does. Built-in kinds are walked by their schema (k8s-proto.ts): the items of a list
 * map are owned one by one under their keys (`k:{"name":"A"}`, so two managers may each add
 * an env entry to one container), a set's values one by one (`v:"x"`), atomic lists and
 * structs whole. Custom resources have no schema here: their lists are owned whole.
 */
import { cloneJson } from '../api/json-clone.js';
import { objectType, type ProtoField, protoField, protoMessage } from '../api/k8s-proto.js';
import { metaTime } from '../api/meta-time.js';
import { strategicMerge } from '../api/patch.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';

type FieldSet = Record<string, unknown>;
type Entry = Record<string, unknown>;
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** Values that are one field however they are written (a time, a quantity, an int-or-string). */
const scalarMessages = new Set([
  'meta.v1.Time',
  'meta.v1.MicroTime',
  'meta.v1.Duration',
  'resource.Quantity',
  'intstr.IntOrString',
]);

/** The `k:` element of a list-map item: its keys in name order, a missing key at its default. */
function itemKey(item: Obj, field: ProtoField): string {
  const elem = protoMessage(field.type.slice(2));
  const key: Obj = {};
  for (const k of [...(field.listKeys ?? [])].sort()) {
    const v = item[k] ?? (elem && protoField(elem, k)?.default);
    if (v !== undefined) key[k] = v;
  }
  return `k:${JSON.stringify(key)}`;
}

/** The set of what `v` sets, `type` its message (undefined: no schema, lists are leaves). */
function setOf(v: unknown, type: string | undefined): FieldSet {
  if (!isObj(v)) return {};
  const msg = type ? protoMessage(type) : undefined;
  if (type && scalarMessages.has(type)) return {};
  if (msg?.atomic) return {};
  const out: FieldSet = {};
  for (const [k, x] of Object.entries(v)) out[`f:${k}`] = valueSet(x, msg ? protoField(msg, k) : undefined);
  return out;
}

function valueSet(x: unknown, field: ProtoField | undefined): FieldSet {
  const type = field?.type;
  if (Array.isArray(x)) {
    const out: FieldSet = {};
    if (field?.listKeys) {
      for (const item of x)
        if (isObj(item)) out[itemKey(item, field)] = { '.': {}, ...setOf(item, type?.slice(2)) };
      return out;
    }
    if (field?.set) {
      for (const item of x) out[`v:${JSON.stringify(item)}`] = {};
      return out;
    }
    return {};
  }
  if (!isObj(x)) return {};
  if (type?.startsWith('{}')) {
    if (field?.atomic) return {};
    const out: FieldSet = {};
    const elem = type.slice(2);
    for (const [k, item] of Object.entries(x))
      out[`f:${k}`] = protoMessage(elem) ? setOf(item, elem) : setOf(item, undefined);
    return out;
  }
  // A message the schema knows, or anything without one (free-form JSON, custom resources).
  return setOf(x, type && protoMessage(type) ? type : undefined);
}

/**
 * Merges an applied value into the live one by the schema: a list map item by item under
 * its keys, a set value by value, an atomic list, map or struct replaced whole, other maps
 * and structs field by field. `live` is this call's own copy.
 */
function applyValue(live: unknown, cfg: unknown, field: ProtoField | undefined): unknown {
  const type = field?.type;
  if (Array.isArray(cfg)) {
    if (field?.listKeys && Array.isArray(live)) {
      const at = new Map<string, number>();
      live.forEach((x, i) => {
        const key = isObj(x) ? itemKey(x, field) : undefined;
        if (key !== undefined && !at.has(key)) at.set(key, i);
      });
      for (const item of cfg) {
        if (!isObj(item)) continue;
        const key = itemKey(item, field);
        const i = at.get(key);
        if (i !== undefined) live[i] = applyObject(live[i], item, type?.slice(2));
        else at.set(key, live.push(cloneJson(item)) - 1);
      }
      keyIndexes.delete(live);
      return live;
    }
    if (field?.set && Array.isArray(live)) {
      for (const v of cfg) if (!live.some((x) => same(x, v))) live.push(cloneJson(v));
      return live;
    }
    return cloneJson(cfg);
  }
  if (!isObj(cfg)) return cfg;
  if (field?.atomic) return cloneJson(cfg);
  if (type?.startsWith('{}')) {
    const out = isObj(live) ? live : {};
    const elem = protoMessage(type.slice(2)) ? type.slice(2) : undefined;
    for (const [k, v] of Object.entries(cfg))
      out[k] = elem ? applyObject(out[k], v, elem) : applyValue(out[k], v, undefined);
    return out;
  }
  return applyObject(live, cfg, type && protoMessage(type) ? type : undefined);
}

function applyObject(live: unknown, cfg: unknown, type: string | undefined): unknown {
  if (!isObj(cfg)) return cloneJson(cfg);
  const msg = type ? protoMessage(type) : undefined;
  if (msg?.atomic || (type && scalarMessages.has(type))) return cloneJson(cfg);
  const out = isObj(live) ? live : {};
  for (const [k, v] of Object.entries(cfg)) {
    if (v === null) delete out[k];
    else out[k] = applyValue(out[k], v, msg ? protoField(msg, k) : undefined);
  }
  return out;
}

/** The FieldsV1 set of what an object sets (spec and other top-level fields, labels, annotations). */
export function fieldsOf(o: KubeObject, only?: 'status'): FieldSet {
  const type = objectType(o);
  const msg = type ? protoMessage(type) : undefined;
  const top = (k: string, v: unknown) => valueSet(v, msg ? protoField(msg, k) : undefined);
  if (only === 'status') return o.status ? { 'f:status': top('status', o.status) } : {};
  const { metadata, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  const meta: FieldSet = {};
  if (metadata?.labels) meta['f:labels'] = setOf(metadata.labels, undefined);
  if (metadata?.annotations) meta['f:annotations'] = setOf(metadata.annotations, undefined);
  const out: FieldSet = Object.keys(meta).length ? { 'f:metadata': meta } : {};
  for (const [k, v] of Object.entries(rest)) out[`f:${k}`] = top(k, v);
  return out;
}

/** Records (replaces) the entry of one manager and operation. */
export function setManaged(
  o: KubeObject,
  manager: string,
  operation: 'Apply' | 'Update',
  subresource?: string,
  fields?: FieldSet,
): void {
  o.metadata ??= {};
  const m = o.metadata;
  const list = ((m.managedFields as Entry[] | undefined) ?? []).filter(
    (e) => !(e.manager === manager && e.operation === operation && e.subresource === subresource),
  );
  list.push({
    manager,
    operation,
    apiVersion: o.apiVersion,
    time: metaTime(),
    fieldsType: 'FieldsV1',
    fieldsV1: fields ?? fieldsOf(o),
    ...(subresource ? { subresource } : {}),
  });
  m.managedFields = list;
}

/** The value a path element names in `v`: a field, a list-map item by its keys, a set's value. */
function child(v: unknown, el: string): unknown {
  if (el === '.') return v;
  if (el.startsWith('f:')) return isObj(v) ? v[el.slice(2)] : undefined;
  if (!Array.isArray(v)) return undefined;
  return v[indexIn(v, el)];
}

/** A path element's JSON (`k:{...}`, `v:...`); one that is not JSON (an upstream `i:` index) names nothing. */
function elementValue(el: string): unknown {
  try {
    return JSON.parse(el.slice(2)) as unknown;
  } catch (e) {
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

// Per list and key names, where each key value sits: finding every item of a list of n by
// key is then O(n), not O(n^2). A list is dropped from here when it is changed.
const keyIndexes = new WeakMap<unknown[], Map<string, Map<string, number>>>();

function keyIndex(list: unknown[], names: string[]): Map<string, number> {
  let byNames = keyIndexes.get(list);
  if (!byNames) {
    byNames = new Map();
    keyIndexes.set(list, byNames);
  }
  const sig = JSON.stringify(names);
  let index = byNames.get(sig);
  if (!index) {
    const built = new Map<string, number>();
    list.forEach((x, i) => {
      const id = isObj(x) ? JSON.stringify(names.map((n) => x[n])) : undefined;
      if (id !== undefined && !built.has(id)) built.set(id, i);
    });
    byNames.set(sig, built);
    index = built;
  }
  return index;
}

/** The index of a `k:` or `v:` element's item, -1 when there is none. */
function indexIn(list: unknown[], el: string): number {
  const want = elementValue(el);
  if (el.startsWith('v:')) return want === undefined ? -1 : list.findIndex((x) => same(x, want));
  if (!el.startsWith('k:') || !isObj(want)) return -1;
  const names = Object.keys(want);
  const exact = keyIndex(list, names).get(JSON.stringify(names.map((n) => want[n])));
  if (exact !== undefined) return exact;
  // A key the item leaves out stands at its default (a port's protocol TCP).
  return list.findIndex((x) => isObj(x) && names.every((n) => x[n] === undefined || same(x[n], want[n])));
}

/**
 * Deletes from `target` the leaves `before` owned that `after` no longer has and no other
 * manager (`others`, their sets at the same place) owns. A map or struct goes when that
 * leaves it empty; a list item this manager alone held goes whole. The key fields of an item
 * another manager still holds part of stay (`keys`).
 */
function removeDropped(
  target: unknown,
  before: FieldSet,
  after: FieldSet,
  others: FieldSet[],
  keys: string[] = [],
): void {
  for (const [el, sub] of Object.entries(before)) {
    if (el === '.' || keys.includes(el)) continue;
    const kids = Object.keys(sub as FieldSet).filter((k) => k !== '.');
    const there = others.map((o) => o[el] as FieldSet | undefined).filter((o): o is FieldSet => Boolean(o));
    const value = child(target, el);
    if (kids.length && value && typeof value === 'object') {
      const key = el.startsWith('k:') ? elementValue(el) : undefined;
      const itemKeys = isObj(key) ? Object.keys(key).map((k) => `f:${k}`) : [];
      removeDropped(value, sub as FieldSet, (after[el] as FieldSet | undefined) ?? {}, there, itemKeys);
    }
    if (el in after || there.length) continue;
    const item = !el.startsWith('f:');
    const emptied = value && typeof value === 'object' && Object.keys(value).length === 0;
    if (!(kids.length === 0 || item || emptied)) continue;
    if (!item && isObj(target)) delete target[el.slice(2)];
    else if (Array.isArray(target)) {
      const i = indexIn(target, el);
      if (i >= 0) target.splice(i, 1);
      keyIndexes.delete(target);
    }
  }
}

/** The paths of a field set's leaves (a leaf is a field with no owned children; `.` is an item itself). */
export function leaves(set: FieldSet, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [el, sub] of Object.entries(set)) {
    const path = [...prefix, el];
    const kids = sub as FieldSet;
    if (Object.keys(kids).length === 0) out.push(path);
    else out.push(...leaves(kids, path));
  }
  return out;
}

function valueAt(o: unknown, path: string[]): unknown {
  let v = o;
  for (const el of path) {
    v = child(v, el);
    if (v === undefined) return undefined;
  }
  return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Whether a path's value differs between two objects; an item itself (`.`) only by being there. */
const differs = (a: unknown, b: unknown, path: string[]) => {
  const x = valueAt(a, path);
  const y = valueAt(b, path);
  return path.at(-1) === '.' ? (x === undefined) !== (y === undefined) : !same(x, y);
};

/** True when one path is the other or lies under it (owning a map owns what is in it). */
const overlaps = (a: string[], b: string[]) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** A path as upstream names it in conflicts: `.spec.containers[name="main"].image`. */
function pathString(path: string[]): string {
  let out = '';
  for (const el of path) {
    if (el === '.') continue;
    if (el.startsWith('f:')) out += `.${el.slice(2)}`;
    else if (el.startsWith('v:')) out += `[=${el.slice(2)}]`;
    else if (el.startsWith('k:')) {
      const key = elementValue(el);
      out += `[${Object.entries(isObj(key) ? key : {})
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}]`;
    }
  }
  return out;
}

/** Removes a path and every owned path under or above it from a set, pruning emptied maps. */
function removePath(set: FieldSet, path: string[]): void {
  const [head, ...rest] = path;
  if (head === undefined || !(head in set)) return;
  const sub = set[head] as FieldSet;
  if (rest.length === 0 || Object.keys(sub).length === 0) {
    delete set[head];
    return;
  }
  removePath(sub, rest);
  // An item with nothing left but itself (`.`) is no longer this manager's.
  const left = Object.keys(sub);
  if (left.length === 0 || (left.length === 1 && left[0] === '.')) delete set[head];
}

function addPath(set: FieldSet, path: string[]): void {
  let cur = set;
  for (const el of path) {
    cur[el] ??= {};
    cur = cur[el] as FieldSet;
  }
}

const clone = (f: unknown): FieldSet => JSON.parse(JSON.stringify(f ?? {})) as FieldSet;
const entriesOf = (o: KubeObject): Entry[] => (o.metadata?.managedFields as Entry[] | undefined) ?? [];

/**
 * Records an update by `manager` (a PUT or a non-apply PATCH): it becomes an owner of the
 * fields it changed, added or removed, and those fields leave every other manager's set.
 * A create makes the manager owner of everything it set.
 */
export function recordUpdate(
  next: KubeObject,
  old: KubeObject | undefined,
  manager: string,
  subresource?: string,
): void {
  const scope = subresource === 'status' ? 'status' : undefined;
  if (!old) {
    setManaged(next, manager, 'Update', subresource, fieldsOf(next, scope));
    return;
  }
  const changed = [
    ...leaves(fieldsOf(next, scope)).filter((p) => differs(old, next, p)),
    ...leaves(fieldsOf(old, scope)).filter((p) => valueAt(next, p) === undefined),
  ];
  const entries = entriesOf(next).map((e): Entry => ({ ...e, fieldsV1: clone(e.fieldsV1) }));
  let mine = entries.find(
    (e) => e.manager === manager && e.operation === 'Update' && e.subresource === subresource,
  );
  for (const e of entries) if (e !== mine) for (const p of changed) removePath(e.fieldsV1 as FieldSet, p);
  if (!mine) {
    mine = {
      manager,
      operation: 'Update',
      apiVersion: next.apiVersion,
      fieldsType: 'FieldsV1',
      fieldsV1: {},
    };
    if (subresource) mine.subresource = subresource;
    entries.push(mine);
  }
  for (const p of changed) if (valueAt(next, p) !== undefined) addPath(mine.fieldsV1 as FieldSet, p);
  mine.time = metaTime();
  next.metadata ??= {};
  // Upstream drops managers that no longer own anything.
  next.metadata.managedFields = entries.filter((e) => Object.keys(e.fieldsV1 as FieldSet).length > 0);
}

/**
 * Applies a configuration for `manager` to the live object; returns the new object. A field
 * the configuration sets to a value other than the live one, owned by another manager, is a
 * conflict: 409 naming each field and manager, or with `force` the field changes hands.
 */
export function serverSideApply(
  live: KubeObject,
  applied: KubeObject,
  manager: string,
  force = false,
): KubeObject {
  const entries = entriesOf(live).map((e): Entry => ({ ...e, fieldsV1: clone(e.fieldsV1) }));
  const prev = entries.find((e) => e.manager === manager && e.operation === 'Apply');
  const now = fieldsOf(applied);
  const conflicts: { field: string; manager: string; apiVersion: string; path: string[]; entry: Entry }[] =
    [];
  for (const p of leaves(now)) {
    // An item's existence (`.`) is never a conflict; only values are.
    if (p.at(-1) === '.' || !differs(live, applied, p)) continue;
    for (const e of entries) {
      if (e === prev || e.subresource) continue;
      const owned = leaves(e.fieldsV1 as FieldSet).filter((q) => overlaps(p, q));
      if (!owned.length) continue;
      conflicts.push({
        field: pathString(p),
        manager: String(e.manager),
        apiVersion: String(e.apiVersion ?? applied.apiVersion ?? ''),
        path: p,
        entry: e,
      });
    }
  }
  if (conflicts.length && !force) {
    const what = (c: (typeof conflicts)[number]) => `conflict with "${c.manager}" using ${c.apiVersion}`;
    const message =
      conflicts.length === 1
        ? `Apply failed with 1 conflict: ${what(conflicts[0]!)}: ${conflicts[0]!.field}`
        : `Apply failed with ${conflicts.length} conflicts: ${conflicts.map((c) => `${what(c)}: ${c.field}`).join('\n')}`;
    throw new ApiError(409, 'Conflict', message, {
      causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: what(c), field: c.field })),
    });
  }
  for (const c of conflicts) removePath(c.entry.fieldsV1 as FieldSet, c.path);
  const { metadata: am, ...body } = applied;
  const patch: KubeObject = {
    ...body,
    metadata: {
      ...(am?.labels ? { labels: am.labels } : {}),
      ...(am?.annotations ? { annotations: am.annotations } : {}),
    },
  };
  // Built-in kinds merge by their schema; custom resources as a strategic merge patch would.
  const type = objectType(applied);
  const next = (type ? applyObject(cloneJson(live), patch, type) : strategicMerge(live, patch)) as KubeObject;
  if (prev?.fieldsV1) {
    // Only labels and annotations of metadata are applied: metadata itself never goes.
    const split = (set: FieldSet) => {
      const { 'f:metadata': meta, ...rest } = set;
      return [(meta as FieldSet | undefined) ?? {}, rest] as const;
    };
    const [pm, prevRest] = split(prev.fieldsV1 as FieldSet);
    const [nm, nowRest] = split(now);
    const others = entries.filter((e) => e !== prev).map((e) => split(e.fieldsV1 as FieldSet));
    removeDropped(
      next,
      prevRest,
      nowRest,
      others.map((o) => o[1]),
    );
    if (next.metadata)
      removeDropped(
        next.metadata,
        pm,
        nm,
        others.map((o) => o[0]),
      );
  }
  next.metadata ??= {};
  next.metadata.managedFields = entries.filter((e) => Object.keys(e.fieldsV1 as FieldSet).length > 0);
  setManaged(next, manager, 'Apply', undefined, now);
  return next;
}
