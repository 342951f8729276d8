/**
 * The files of the API-backed volumes (configMap, secret, downwardAPI, projected), as the
 * kubelet computes them before its atomic writer puts them on disk: a map from a relative
 * path to the bytes and the mode of one file. `items` pick and rename keys, `mode` and
 * `defaultMode` set permissions, `optional` turns a missing object into an empty volume.
 */
import type { KubeObject } from '../../client/kube-client.js';
import { fieldValue, type ObjectSource } from '../container-config.js';
import { resourceFieldValue } from './resource-field.js';
import { VolumeError } from './volume-error.js';

/** One file of a volume. */
export interface FileProjection {
  data: Buffer;
  mode: number;
}

export type Payload = Map<string, FileProjection>;

/** Where the API-backed volumes read from. */
export interface VolumeSources extends ObjectSource {
  /** A token of the pod's ServiceAccount, bound to the pod (TokenRequest). */
  token(pod: KubeObject, audience: string | undefined, expirationSeconds: number): Promise<string>;
  /** Forgets what is cached for pod `uid` (its tokens) once it is gone. */
  forget?(uid: string): void;
}

interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

interface ObjectVolume {
  name?: string;
  items?: KeyToPath[];
  defaultMode?: number;
  optional?: boolean;
}

interface DownwardItem {
  path: string;
  mode?: number;
  fieldRef?: { fieldPath: string };
  resourceFieldRef?: { containerName?: string; resource: string; divisor?: string };
}

/** The kubelet's default mode for the files of these volumes (0644). */
export const defaultFileMode = 0o644;

/** Refuses a path that could leave the volume (absolute, or with a `..` component). */
export function checkPayloadPath(p: string): void {
  if (!p || p.startsWith('/') || p.split('/').some((c) => c === '..' || c === ''))
    throw new VolumeError(`invalid path "${p}": must be relative and may not contain ".."`);
  if (p.startsWith('..')) throw new VolumeError(`invalid path "${p}": may not start with ".."`);
}

/** The files of a ConfigMap or Secret (`data` already as bytes) with its items and modes. */
function keysPayload(
  kind: 'configmap' | 'secret',
  data: Map<string, Buffer>,
  items: KeyToPath[] | undefined,
  defaultMode: number,
  optional: boolean,
): Payload {
  const out: Payload = new Map();
  if (!items?.length) {
    for (const [k, v] of data) {
      checkPayloadPath(k);
      out.set(k, { data: v, mode: defaultMode });
    }
    return out;
  }
  for (const it of items) {
    const v = data.get(it.key);
    if (v === undefined) {
      if (optional) continue;
      throw new VolumeError(
        `${kind === 'secret' ? 'secret' : 'configmap'} references non-existent ${kind === 'secret' ? 'secret' : 'config'} key: ${it.key}`,
      );
    }
    checkPayloadPath(it.path);
    out.set(it.path, { data: v, mode: it.mode ?? defaultMode });
  }
  return out;
}

function objectData(kind: 'configmap' | 'secret', obj: KubeObject): Map<string, Buffer> {
  const o = obj as { data?: Record<string, string>; binaryData?: Record<string, string> };
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(o.data ?? {}))
    out.set(k, kind === 'secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8'));
  if (kind === 'configmap')
    for (const [k, v] of Object.entries(o.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

async function objectPayload(
  kind: 'configmap' | 'secret',
  ns: string,
  name: string,
  v: ObjectVolume,
  sources: VolumeSources,
  defaultMode: number,
): Promise<Payload> {
  const obj = kind === 'configmap' ? await sources.configMap(ns, name) : await sources.secret(ns, name);
  if (!obj) {
    if (v.optional) return new Map();
    throw new VolumeError(`${kind} "${name}" not found`);
  }
  return keysPayload(kind, objectData(kind, obj), v.items, defaultMode, !!v.optional);
}

/** `key="value"` lines, sorted, as the kubelet writes `metadata.labels` and `metadata.annotations`. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

function downwardPayload(
  pod: KubeObject,
  items: DownwardItem[],
  defaultMode: number,
  ctx: DownwardContext,
): Payload {
  const out: Payload = new Map();
  for (const it of items) {
    checkPayloadPath(it.path);
    let value: string;
    if (it.fieldRef) {
      const f = it.fieldRef.fieldPath;
      if (f === 'metadata.labels') value = formatMap(pod.metadata.labels);
      else if (f === 'metadata.annotations') value = formatMap(pod.metadata.annotations);
      else value = fieldValue(pod, ctx.nodeIP, ctx.podIP, f);
    } else if (it.resourceFieldRef) {
      value = resourceFieldValue(pod, it.resourceFieldRef, ctx.allocatable);
    } else throw new VolumeError(`downwardAPI item "${it.path}" has neither fieldRef nor resourceFieldRef`);
    out.set(it.path, { data: Buffer.from(value, 'utf8'), mode: it.mode ?? defaultMode });
  }
  return out;
}

/** What the downward API reads beyond the pod: addresses, and the node's allocatable for unset limits. */
export interface DownwardContext {
  nodeIP: string;
  podIP: string;
  /** Read only when a resourceFieldRef needs it (it reads the machine's cgroups). */
  allocatable: () => Record<string, string | undefined>;
}

// biome-ignore lint/suspicious/noExplicitAny: a volume of the pod spec
type SpecVolume = any;

const modeOr = (m: unknown) => (typeof m === 'number' ? m : defaultFileMode);

/** The files of one API-backed volume of `pod`; undefined for the other kinds. */
export async function volumePayload(
  pod: KubeObject,
  vol: SpecVolume,
  sources: VolumeSources,
  ctx: DownwardContext,
): Promise<Payload | undefined> {
  const ns = pod.metadata.namespace ?? 'default';
  if (vol.configMap)
    return objectPayload(
      'configmap',
      ns,
      vol.configMap.name,
      vol.configMap,
      sources,
      modeOr(vol.configMap.defaultMode),
    );
  if (vol.secret)
    return objectPayload(
      'secret',
      ns,
      vol.secret.secretName,
      vol.secret,
      sources,
      modeOr(vol.secret.defaultMode),
    );
  if (vol.downwardAPI)
    return downwardPayload(pod, vol.downwardAPI.items ?? [], modeOr(vol.downwardAPI.defaultMode), ctx);
  if (!vol.projected) return undefined;
  const mode = modeOr(vol.projected.defaultMode);
  const out: Payload = new Map();
  for (const s of vol.projected.sources ?? []) {
    let part: Payload;
    if (s.configMap)
      part = await objectPayload('configmap', ns, s.configMap.name, s.configMap, sources, mode);
    else if (s.secret) part = await objectPayload('secret', ns, s.secret.name, s.secret, sources, mode);
    else if (s.downwardAPI) part = downwardPayload(pod, s.downwardAPI.items ?? [], mode, ctx);
    else if (s.serviceAccountToken) {
      const t = s.serviceAccountToken as { audience?: string; expirationSeconds?: number; path: string };
      checkPayloadPath(t.path);
      const token = await sources.token(pod, t.audience || undefined, t.expirationSeconds ?? 3600);
      part = new Map([[t.path, { data: Buffer.from(token, 'utf8'), mode }]]);
    } else throw new VolumeError(`unsupported projected volume source in volume "${vol.name}"`);
    for (const [k, v] of part) out.set(k, v);
  }
  return out;
}
