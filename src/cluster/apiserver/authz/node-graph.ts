/**
 * What each node may read because of the pods bound to it (the data behind upstream's Node
 * authorizer): a pod on a node relates that node to its ServiceAccount and to the Secrets,
 * ConfigMaps and PersistentVolumeClaims its volumes, environment and image pull secrets name;
 * a bound claim relates the node further to its PersistentVolume, and that volume to the
 * Secrets its source names (CSI's publish and stage secrets, iSCSI's CHAP secret...), as
 * upstream's graph does through VisitPVSecretNames.
 */
import type { KubeObject } from '../../api/selectors.js';

// biome-ignore lint/suspicious/noExplicitAny: parts of a pod or volume spec
type Any = any;

/** The kinds the graph follows: pods, PersistentVolumeClaims (`claims`), PersistentVolumes (`volumes`). */
export type GraphKind = 'pods' | 'claims' | 'volumes';

/** `resource/namespace/name` of everything a pod refers to (its node may get them). */
export function podReferences(pod: KubeObject): string[] {
  const ns = pod.metadata?.namespace ?? '';
  const spec = (pod.spec ?? {}) as Any;
  const out = new Set<string>();
  const add = (resource: string, name: unknown) => {
    if (typeof name === 'string' && name) out.add(`${resource}/${ns}/${name}`);
  };
  add('serviceaccounts', spec.serviceAccountName || spec.serviceAccount || 'default');
  for (const s of spec.imagePullSecrets ?? []) add('secrets', s?.name);
  for (const v of spec.volumes ?? []) {
    add('secrets', v?.secret?.secretName);
    add('configmaps', v?.configMap?.name);
    add('persistentvolumeclaims', v?.persistentVolumeClaim?.claimName);
    for (const s of v?.projected?.sources ?? []) {
      add('secrets', s?.secret?.name);
      add('configmaps', s?.configMap?.name);
    }
    // Volume plugins that carry a secret reference (CSI, cephfs, iscsi...).
    for (const plugin of Object.values(v ?? {}) as Any[])
      if (plugin && typeof plugin === 'object')
        add('secrets', plugin.secretRef?.name ?? plugin.nodePublishSecretRef?.name);
  }
  for (const c of [
    ...(spec.initContainers ?? []),
    ...(spec.containers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ]) {
    for (const e of c?.env ?? []) {
      add('secrets', e?.valueFrom?.secretKeyRef?.name);
      add('configmaps', e?.valueFrom?.configMapKeyRef?.name);
    }
    for (const f of c?.envFrom ?? []) {
      add('secrets', f?.secretRef?.name);
      add('configmaps', f?.configMapRef?.name);
    }
  }
  return [...out];
}

/**
 * `secrets/namespace/name` of the Secrets a PersistentVolume's source names. A reference without
 * a namespace means the bound claim's, as upstream reads azureFile and cephfs.
 */
export function volumeSecrets(pv: KubeObject): string[] {
  const spec = (pv.spec ?? {}) as Any;
  const claimNs: string = spec.claimRef?.namespace ?? '';
  const out = new Set<string>();
  const add = (ref: Any, defaultNs = claimNs) => {
    const name = ref?.name;
    const ns = ref?.namespace || defaultNs;
    if (typeof name === 'string' && name && typeof ns === 'string' && ns) out.add(`secrets/${ns}/${name}`);
  };
  for (const source of ['cephfs', 'cinder', 'flexVolume', 'rbd', 'scaleIO', 'storageos', 'iscsi'])
    add(spec[source]?.secretRef);
  const csi = spec.csi;
  for (const ref of [
    'controllerPublishSecretRef',
    'controllerExpandSecretRef',
    'nodePublishSecretRef',
    'nodeStageSecretRef',
    'nodeExpandSecretRef',
  ])
    add(csi?.[ref], '');
  if (spec.azureFile) add({ name: spec.azureFile.secretName, namespace: spec.azureFile.secretNamespace });
  return [...out];
}

export class NodeGraph {
  /** Each bound pod's node and references, by `namespace/name`. */
  private readonly pods = new Map<string, { node: string; refs: string[] }>();
  /** How many of a node's pods refer to an object, by `node\0resource/namespace/name`. */
  private readonly counts = new Map<string, number>();
  /** The volume each bound claim holds, by `namespace/name`. */
  private readonly claims = new Map<string, string>();
  /** The Secrets each PersistentVolume's source names, by volume name (only volumes naming some). */
  private readonly volumes = new Map<string, string[]>();
  /** The store revision each object was last applied at, by `pods/...`, `claims/...` or `volumes/...`. */
  private readonly revisions = new Map<string, number>();

  /**
   * Whether the object at `key` (`pods/NS/NAME`, `claims/NS/NAME`, `volumes/NAME`) is applied at `revision`
   * or later already: the watch then skips decoding what the server's own write hook applied.
   */
  seen(key: string, revision: number): boolean {
    return (this.revisions.get(key) ?? 0) >= revision;
  }

  /** Records the revision an object was applied at (0 or undefined: gone). */
  private mark(key: string, revision: number | undefined): void {
    if (revision) this.revisions.set(key, Math.max(revision, this.revisions.get(key) ?? 0));
    else this.revisions.delete(key);
  }

  private count(node: string, refs: string[], by: number): void {
    for (const r of refs) {
      const k = `${node}\0${r}`;
      const n = (this.counts.get(k) ?? 0) + by;
      if (n > 0) this.counts.set(k, n);
      else this.counts.delete(k);
    }
  }

  /** Records a pod as stored now (undefined: deleted). */
  setPod(key: string, pod: KubeObject | undefined, revision?: number): void {
    this.mark(`pods/${key}`, pod ? revision : undefined);
    const old = this.pods.get(key);
    if (old) this.count(old.node, old.refs, -1);
    this.pods.delete(key);
    const node = (pod?.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!pod || !node) return;
    const entry = { node, refs: podReferences(pod) };
    this.pods.set(key, entry);
    this.count(node, entry.refs, 1);
  }

  /** Records a claim as stored now (undefined: deleted). */
  setClaim(key: string, claim: KubeObject | undefined, revision?: number): void {
    this.mark(`claims/${key}`, claim ? revision : undefined);
    const volume = (claim?.spec as { volumeName?: string } | undefined)?.volumeName;
    if (volume) this.claims.set(key, volume);
    else this.claims.delete(key);
  }

  /** Records a PersistentVolume as stored now (undefined: deleted), by its name. */
  setVolume(name: string, pv: KubeObject | undefined, revision?: number): void {
    this.mark(`volumes/${name}`, pv ? revision : undefined);
    const secrets = pv ? volumeSecrets(pv) : [];
    if (secrets.length) this.volumes.set(name, secrets);
    else this.volumes.delete(name);
  }

  /** Records an object of `kind` as stored now (undefined: deleted). */
  set(kind: GraphKind, key: string, obj: KubeObject | undefined, revision?: number): void {
    if (kind === 'pods') this.setPod(key, obj, revision);
    else if (kind === 'claims') this.setClaim(key, obj, revision);
    else this.setVolume(key, obj, revision);
  }

  /** After a list: forgets the objects of `kind` not in `keys`, deleted while no watch ran. */
  retain(kind: GraphKind, keys: Set<string>): void {
    const held = kind === 'pods' ? this.pods : kind === 'claims' ? this.claims : this.volumes;
    for (const k of [...held.keys()]) if (!keys.has(k)) this.set(kind, k, undefined);
    // A volume naming no Secret is never held, but its revision may be.
    if (kind === 'volumes')
      for (const k of [...this.revisions.keys()])
        if (k.startsWith('volumes/') && !keys.has(k.slice('volumes/'.length))) this.revisions.delete(k);
  }

  /** Whether pod `namespace/name` is bound to `node`. */
  hasPod(node: string, namespace: string, name: string): boolean {
    return this.pods.get(`${namespace}/${name}`)?.node === node;
  }

  /** Whether `node` has a pod that needs `resource` `namespace/name`. */
  related(node: string, resource: string, namespace: string, name: string): boolean {
    if (resource === 'persistentvolumes') return this.usesVolume(node, (volume) => volume === name);
    if (this.counts.has(`${node}\0${resource}/${namespace}/${name}`)) return true;
    if (resource !== 'secrets') return false;
    // A Secret named by a volume that one of the node's claims is bound to (secret -> pv -> pvc -> pod -> node).
    const secret = `secrets/${namespace}/${name}`;
    return this.usesVolume(node, (volume) => this.volumes.get(volume)?.includes(secret) ?? false);
  }

  /** Whether a claim one of the node's pods uses is bound to a volume that `match` accepts. */
  private usesVolume(node: string, match: (volume: string) => boolean): boolean {
    for (const [claim, volume] of this.claims)
      if (match(volume) && this.counts.has(`${node}\0persistentvolumeclaims/${claim}`)) return true;
    return false;
  }
}
