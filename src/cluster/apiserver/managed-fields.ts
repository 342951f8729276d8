/**
 * managedFields and server-side apply. Each manager's entry records the fields it set, as a
 * FieldsV1 set (`{"f:spec":{"f:replicas":{}}}`). Server-side apply merges the applied
 * configuration into the live object (lists by merge key, as strategic merge does), then
 * removes the map fields this manager applied last time and no longer applies. Applying a
 * field that another manager owns with a different value is a conflict (409) unless forced,
 * and an update takes ownership of the fields it changes, as upstream's field manager does.
 * Lists are owned whole (upstream tracks list items by key; here a list is one field).
 */
import { nowTimestamp } from '../api/objects.js';
import { strategicMerge } from '../api/patch.js';
import type { KubeObject } from '../api/selectors.js';
import { ApiError } from '../api/status.js';

type FieldSet = Record<string, unknown>;
type Entry = Record<string, unknown>;

/** The FieldsV1 set of what an object sets (spec and other top-level fields, labels, annotations). */
export function fieldsOf(o: KubeObject, only?: 'status'): FieldSet {
  const walk = (v: unknown): FieldSet => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: FieldSet = {};
    for (const [k, x] of Object.entries(v))
      out[`f:${k}`] = x && typeof x === 'object' && !Array.isArray(x) ? walk(x) : {};
    return out;
  };
  if (only === 'status') return o.status ? { 'f:status': walk(o.status) } : {};
  const { metadata, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
  const meta: FieldSet = {};
  if (metadata?.labels) meta['f:labels'] = walk(metadata.labels);
  if (metadata?.annotations) meta['f:annotations'] = walk(metadata.annotations);
  return { ...(Object.keys(meta).length ? { 'f:metadata': meta } : {}), ...walk(rest) };
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
    time: nowTimestamp(),
    fieldsType: 'FieldsV1',
    fieldsV1: fields ?? fieldsOf(o),
    ...(subresource ? { subresource } : {}),
  });
  m.managedFields = list;
}

/** Deletes from `target` the fields in `before` that `after` no longer has. */
function removeDropped(target: Record<string, unknown>, before: FieldSet, after: FieldSet): void {
  for (const [fk, sub] of Object.entries(before)) {
    if (!fk.startsWith('f:')) continue;
    const k = fk.slice(2);
    const child = target[k];
    const owned = sub as FieldSet;
    const isMap = child && typeof child === 'object' && !Array.isArray(child);
    // A leaf this manager stopped applying goes; a map loses only the children it owned.
    if (!(fk in after) && (!isMap || Object.keys(owned).length === 0)) {
      delete target[k];
      continue;
    }
    if (isMap) {
      removeDropped(child as Record<string, unknown>, owned, (after[fk] as FieldSet | undefined) ?? {});
      if (!(fk in after) && Object.keys(child as object).length === 0) delete target[k];
    }
  }
}

/** The paths of a field set's leaves (a leaf is a field with no owned children). */
export function leaves(set: FieldSet, prefix: string[] = []): string[][] {
  const out: string[][] = [];
  for (const [fk, sub] of Object.entries(set)) {
    if (!fk.startsWith('f:')) continue;
    const path = [...prefix, fk.slice(2)];
    const kids = sub as FieldSet;
    if (Object.keys(kids).length === 0) out.push(path);
    else out.push(...leaves(kids, path));
  }
  return out;
}

function valueAt(o: unknown, path: string[]): unknown {
  let v = o;
  for (const k of path) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** True when one path is the other or lies under it (owning a map owns what is in it). */
const overlaps = (a: string[], b: string[]) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** Removes a path and every owned path under or above it from a set, pruning emptied maps. */
function removePath(set: FieldSet, path: string[]): void {
  const [head, ...rest] = path;
  const fk = `f:${head}`;
  if (!(fk in set)) return;
  const sub = set[fk] as FieldSet;
  if (rest.length === 0 || Object.keys(sub).length === 0) {
    delete set[fk];
    return;
  }
  removePath(sub, rest);
  if (Object.keys(sub).length === 0) delete set[fk];
}

function addPath(set: FieldSet, path: string[]): void {
  let cur = set;
  for (const k of path) {
    const fk = `f:${k}`;
    cur[fk] ??= {};
    cur = cur[fk] as FieldSet;
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
    ...leaves(fieldsOf(next, scope)).filter((p) => !same(valueAt(old, p), valueAt(next, p))),
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
  mine.time = nowTimestamp();
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
    if (same(valueAt(live, p), valueAt(applied, p))) continue;
    for (const e of entries) {
      if (e === prev || e.subresource) continue;
      const owned = leaves(e.fieldsV1 as FieldSet).filter((q) => overlaps(p, q));
      if (!owned.length) continue;
      conflicts.push({
        field: `.${p.join('.')}`,
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
  const next = strategicMerge(live, patch) as KubeObject;
  if (prev?.fieldsV1) {
    const { 'f:metadata': pm, ...prevRest } = prev.fieldsV1 as FieldSet;
    const { 'f:metadata': nm, ...nowRest } = now;
    removeDropped(next as Record<string, unknown>, prevRest, nowRest);
    if (pm && next.metadata)
      removeDropped(next.metadata as Record<string, unknown>, pm as FieldSet, (nm as FieldSet) ?? {});
  }
  next.metadata ??= {};
  next.metadata.managedFields = entries.filter((e) => Object.keys(e.fieldsV1 as FieldSet).length > 0);
  setManaged(next, manager, 'Apply', undefined, now);
  return next;
}
