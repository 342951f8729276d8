/**
 * Object storage conventions: storage keys, and the metadata the server owns (uid,
 * creationTimestamp, generation, resourceVersion). Objects are stored as JSON without
 * `resourceVersion`; it is the key's modRevision, filled in on every read.
 */
import { randomUUID } from 'node:crypto';
import type { KeyValue } from '../store/store.js';
import { toJson } from './json-stringify.js';
import { metaTime } from './meta-time.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';

/** `/registry/<group|core>/<plural>/` , the prefix of every object of a resource. */
export function resourcePrefix(r: ResourceInfo, namespace?: string): string {
  const base = `/registry/${r.group || 'core'}/${r.plural}/`;
  return r.namespaced && namespace ? `${base}${namespace}/` : base;
}

/** The storage key of one object. */
export function objectKey(r: ResourceInfo, namespace: string | undefined, name: string): string {
  return `${resourcePrefix(r, r.namespaced ? namespace : undefined)}${name}`;
}

/** Decodes a stored value and sets its resourceVersion from the store. */
export function decode(kv: KeyValue): KubeObject {
  const o = JSON.parse(kv.value) as KubeObject;
  o.metadata = { ...(o.metadata ?? {}), resourceVersion: String(kv.modRevision) };
  return o;
}

/**
 * What {@link decode} gives for `kv`, the store's answer to writing {@link encode}`(o)`: `o`
 * with the new resourceVersion, without parsing back the text just written (a JSON.parse of
 * the whole object on every create, update and patch). The answer shares `o`'s parts, so `o`
 * must be JSON data that nothing changes afterwards; a key `o` holds as undefined (which the
 * stored text leaves out) stays, and is left out again when the answer is encoded.
 */
export function asStored(o: KubeObject, kv: KeyValue): KubeObject {
  const { resourceVersion: _, ...meta } = o.metadata ?? {};
  return { ...o, metadata: { ...meta, resourceVersion: String(kv.modRevision) } };
}

/** Encodes an object for storage (without resourceVersion). */
export function encode(o: KubeObject): string {
  const { resourceVersion: _, ...meta } = o.metadata ?? {};
  return toJson({ ...o, metadata: meta });
}

/** Metadata the server sets on create. */
export function stampNew(o: KubeObject): void {
  o.metadata ??= {};
  const m = o.metadata;
  m.uid = randomUUID();
  m.creationTimestamp = metaTime();
  m.generation = 1;
  delete m.resourceVersion;
  delete m.deletionTimestamp;
  delete m.selfLink;
}

/** The part of an object whose change bumps `generation`: everything but metadata and status. */
export function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return toJson(rest);
}

/** A short random suffix for generateName, as Kubernetes makes them (5 characters). */
export function nameSuffix(): string {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < 5; i++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
  return s;
}
