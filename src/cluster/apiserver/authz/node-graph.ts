/**
 * What each node's pods use, for the Node authorizer (upstream's authorizer graph, kept as
 * reference counts instead of a general graph): for every pod bound to a node, the Secrets,
 * ConfigMaps, PersistentVolumeClaims and ServiceAccount it names (volumes, projected
 * sources, env and envFrom, imagePullSecrets), counted per node, and each claim's bound
 * PersistentVolume. Fed like the RBAC policy (policy-feed.ts): the server's own writes at
 * once, and a list-watch of the store for everything else.
 */
import { logger } from '../../../core/log.js';
import { decode } from '../../api/objects.js';
import type { ResourceInfo } from '../../api/resources.js';
import type { KubeObject } from '../../api/selectors.js';
import type { Store, Watch, WatchEvent } from '../../store/store.js';

const log = logger('apiserver');

export type EdgeKind = 'secret' | 'configmap' | 'pvc' | 'serviceaccount';

interface PodRefs {
  node: string;
  refs: string[];
}

const key = (kind: EdgeKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

// biome-ignore lint/suspicious/noExplicitAny: a pod spec is walked field by field
type Loose = any;

/** The objects a pod spec names, as edge keys. */
export function podReferences(pod: KubeObject): string[] {
  const ns = pod.metadata?.namespace ?? '';
  const spec = (pod.spec ?? {}) as Loose;
  const out = new Set<string>();
  const add = (kind: EdgeKind, name: unknown) => {
    if (typeof name === 'string' && name) out.add(key(kind, ns, name));
  };
  add('serviceaccount', spec.serviceAccountName || 'default');
  for (const s of spec.imagePullSecrets ?? []) add('secret', s?.name);
  for (const v of spec.volumes ?? []) {
    add('secret', v?.secret?.secretName);
    add('configmap', v?.configMap?.name);
    add('pvc', v?.persistentVolumeClaim?.claimName);
    for (const src of v?.projected?.sources ?? []) {
      add('secret', src?.secret?.name);
      add('configmap', src?.configMap?.name);
    }
    // Volume plugins that carry a secret reference (CSI, cephfs, iscsi...).
    for (const plugin of Object.values(v ?? {}) as Loose[])
      if (plugin && typeof plugin === 'object')
        add('secret', plugin.secretRef?.name ?? plugin.nodePublishSecretRef?.name);
  }
  const containers = [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c?.env ?? []) {
      add('secret', e?.valueFrom?.secretKeyRef?.name);
      add('configmap', e?.valueFrom?.configMapKeyRef?.name);
    }
    for (const f of c?.envFrom ?? []) {
      add('secret', f?.secretRef?.name);
      add('configmap', f?.configMapRef?.name);
    }
  }
  return [...out];
}

export class NodeGraph {
  private pods = new Map<string, PodRefs>();
  /** node -> edge key -> how many of its pods name it. */
  private uses = new Map<string, Map<string, number>>();
  /** `namespace/claim` -> its bound PersistentVolume. */
  private claimVolumes = new Map<string, string>();
  private revs = new Map<string, number>();

  /** Whether a pod bound to `node` names the object. */
  podsUse(node: string, kind: EdgeKind, namespace: string, name: string): boolean {
    return (this.uses.get(node)?.get(key(kind, namespace, name)) ?? 0) > 0;
  }

  /** Whether pod `namespace/name` is bound to `node`. */
  hasPod(node: string, namespace: string, name: string): boolean {
    return this.pods.get(`${namespace}/${name}`)?.node === node;
  }

  /** Whether a claim used by a pod of `node` is bound to the PersistentVolume. */
  usesVolume(node: string, pv: string): boolean {
    for (const [claim, volume] of this.claimVolumes) {
      if (volume !== pv) continue;
      const [ns, name] = claim.split('/') as [string, string];
      if (this.podsUse(node, 'pvc', ns, name)) return true;
    }
    return false;
  }

  /** The ids (`namespace/name`) of the pods or claims held now. */
  ids(kind: 'pods' | 'persistentvolumeclaims'): string[] {
    return kind === 'pods' ? [...this.pods.keys()] : [...this.claimVolumes.keys()];
  }

  private count(node: string, refs: string[], by: number): void {
    const m = this.uses.get(node) ?? new Map<string, number>();
    this.uses.set(node, m);
    for (const r of refs) {
      const n = (m.get(r) ?? 0) + by;
      if (n > 0) m.set(r, n);
      else m.delete(r);
    }
    if (m.size === 0) this.uses.delete(node);
  }

  /** Applies a pod or claim (undefined: deleted) seen at `revision`; older events are ignored. */
  apply(
    kind: 'pods' | 'persistentvolumeclaims',
    id: string,
    obj: KubeObject | undefined,
    revision: number,
  ): void {
    const rk = `${kind}/${id}`;
    if ((this.revs.get(rk) ?? -1) >= revision) return;
    this.revs.set(rk, revision);
    if (kind === 'persistentvolumeclaims') {
      const volume = (obj?.spec as { volumeName?: string } | undefined)?.volumeName;
      if (volume) this.claimVolumes.set(id, volume);
      else this.claimVolumes.delete(id);
      return;
    }
    const before = this.pods.get(id);
    if (before) this.count(before.node, before.refs, -1);
    this.pods.delete(id);
    const node = (obj?.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!obj || !node) return;
    const now = { node, refs: podReferences(obj) };
    this.pods.set(id, now);
    this.count(node, now.refs, 1);
  }
}

const kinds = ['pods', 'persistentvolumeclaims'] as const;
const prefixOf = (k: string) => `/registry/core/${k}/`;

const applyObject = (
  g: NodeGraph,
  kind: (typeof kinds)[number],
  o: KubeObject,
  deleted: boolean,
  rev: number,
) => g.apply(kind, `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`, deleted ? undefined : o, rev);

/** The write hook: applies a write the server just made to a pod or claim. */
export function feedGraphWrite(
  g: NodeGraph,
  r: ResourceInfo,
  obj: KubeObject | undefined,
  old: KubeObject | undefined,
): void {
  if (r.group || (r.plural !== 'pods' && r.plural !== 'persistentvolumeclaims')) return;
  const o = obj ?? old;
  if (o) applyObject(g, r.plural, o, !obj, Number(o.metadata?.resourceVersion ?? 0));
}

/** Lists and watches pods and claims into the graph; resolves once both first lists are in. */
export async function feedGraphFromStore(store: Store, g: NodeGraph): Promise<{ stop(): void }> {
  const watches: Watch[] = [];
  let stopped = false;
  const start = async (kind: (typeof kinds)[number]): Promise<void> => {
    if (stopped) return;
    const list = await store.list(prefixOf(kind));
    const listed = new Set<string>();
    for (const kv of list.items) {
      const o = decode(kv);
      listed.add(`${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`);
      applyObject(g, kind, o, false, kv.modRevision);
    }
    // What was deleted while no watch ran.
    for (const id of g.ids(kind)) if (!listed.has(id)) g.apply(kind, id, undefined, list.revision);
    if (stopped) return;
    const onEvents = (events: WatchEvent[]) => {
      for (const e of events) applyObject(g, kind, decode(e.kv), e.type === 'delete', e.kv.modRevision);
    };
    watches.push(
      store.watch(prefixOf(kind), list.revision, {
        onEvents,
        onError: (err) => {
          if (stopped) return;
          log.warn('node graph watch failed; listing again', { kind, err });
          setTimeout(
            () => void start(kind).catch((e) => log.error('node graph relist failed', { err: e })),
            1000,
          );
        },
      }),
    );
  };
  await Promise.all(kinds.map(start));
  return {
    stop() {
      stopped = true;
      for (const w of watches) w.close();
    },
  };
}
