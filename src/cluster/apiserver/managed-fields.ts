/**
 * managedFields and server-side apply. Each manager's entry records the fields it set, as a
 * FieldsV1 set (`{"f:spec":{"f:replicas":{}}}`). Server-side apply merges the applied
 * configuration into the live object (lists by merge key, as strategic merge does), then
 * removes the map fields this manager applied last time and no longer applies. Lists are
 * owned whole; ownership conflicts between managers are not detected yet.
 */
import { nowTimestamp } from '../api/objects.js';
import { strategicMerge } from '../api/patch.js';
import type { KubeObject } from '../api/selectors.js';

type FieldSet = Record<string, unknown>;
type Entry = Record<string, unknown>;

/** The FieldsV1 set of what an object sets (spec and other top-level fields, labels, annotations). */
export function fieldsOf(o: KubeObject): FieldSet {
  const walk = (v: unknown): FieldSet => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
    const out: FieldSet = {};
    for (const [k, x] of Object.entries(v))
      out[`f:${k}`] = x && typeof x === 'object' && !Array.isArray(x) ? walk(x) : {};
    return out;
  };
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
    (e) => !(e.manager === manager && e.operation === operation),
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

/** Applies a configuration for `manager` to the live object; returns the new object. */
export function serverSideApply(live: KubeObject, applied: KubeObject, manager: string): KubeObject {
  const prev = ((live.metadata?.managedFields as Entry[] | undefined) ?? []).find(
    (e) => e.manager === manager && e.operation === 'Apply',
  );
  const { metadata: am, ...body } = applied;
  const patch: KubeObject = {
    ...body,
    metadata: {
      ...(am?.labels ? { labels: am.labels } : {}),
      ...(am?.annotations ? { annotations: am.annotations } : {}),
    },
  };
  const next = strategicMerge(live, patch) as KubeObject;
  const now = fieldsOf(applied);
  if (prev?.fieldsV1) {
    const { 'f:metadata': pm, ...prevRest } = prev.fieldsV1 as FieldSet;
    const { 'f:metadata': nm, ...nowRest } = now;
    removeDropped(next as Record<string, unknown>, prevRest, nowRest);
    if (pm && next.metadata)
      removeDropped(next.metadata as Record<string, unknown>, pm as FieldSet, (nm as FieldSet) ?? {});
  }
  setManaged(next, manager, 'Apply', undefined, now);
  return next;
}
