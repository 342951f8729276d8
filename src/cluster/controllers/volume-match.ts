/**
 * Which PersistentVolume may satisfy a PersistentVolumeClaim, as Kubernetes' volume binder
 * decides it: same storage class and volume mode, every requested access mode offered,
 * enough capacity, the claim's selector matched, and (when the binding waits for the pod's
 * node) the volume's node affinity admitting that node. Among the candidates the smallest
 * wins, so big volumes stay free for big claims. Shared by the binder and the scheduler.
 */
import { selectorMatcher } from '../api/selectors.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { type NodeSelectorTerm, termMatches } from '../scheduler/node-affinity.js';
import { parseQuantity } from '../scheduler/quantity.js';
import type { ControllerContext } from './context.js';

/** What the binder and the scheduler read about volumes: claims, volumes and classes. */
export interface VolumeCaches {
  claim(key: string): KubeObject | undefined;
  volume(name: string): KubeObject | undefined;
  volumes(): KubeObject[];
  storageClass(name: string): KubeObject | undefined;
}

/** The caches over the control plane's shared informers. */
export function volumeCaches(ctx: ControllerContext): VolumeCaches {
  const claims = ctx.informer(Resources.persistentvolumeclaims);
  const volumes = ctx.informer(Resources.persistentvolumes);
  const classes = ctx.informer(Resources.storageclasses);
  return {
    claim: (k) => claims.get(k),
    volume: (n) => volumes.get(n),
    volumes: () => volumes.list(),
    storageClass: (n) => classes.get(n),
  };
}

/** The claim's storage class name; unset means the empty class (no default class admission). */
export const claimClass = (pvc: KubeObject): string => pvc.spec?.storageClassName ?? '';

/** The claim annotation naming the node the scheduler chose for a WaitForFirstConsumer claim. */
export const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

/** A volume's `spec.claimRef` to this claim (its uid too, so a namesake never matches). */
export const claimRefFor = (pvc: KubeObject) => ({
  kind: 'PersistentVolumeClaim',
  apiVersion: 'v1',
  namespace: pvc.metadata.namespace,
  name: pvc.metadata.name,
  uid: pvc.metadata.uid,
  resourceVersion: pvc.metadata.resourceVersion,
});

/** `namespace/name` of the claim a volume is bound or pre-bound to, if any. */
export const claimRefKey = (pv: KubeObject): string | undefined => {
  const r = pv.spec?.claimRef;
  return r?.name ? `${r.namespace ?? ''}/${r.name}` : undefined;
};

/** Whether the volume's claimRef names this claim (and, when it records a uid, this very one). */
export function refersTo(pv: KubeObject, pvc: KubeObject): boolean {
  const r = pv.spec?.claimRef;
  if (!r?.name || r.name !== pvc.metadata.name || (r.namespace ?? '') !== pvc.metadata.namespace)
    return false;
  return !r.uid || r.uid === pvc.metadata.uid;
}

/** Whether the volume's node affinity admits the node (a volume without one fits anywhere). */
export function volumeFitsNode(pv: KubeObject, node: KubeObject): boolean {
  const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms as NodeSelectorTerm[] | undefined;
  return !terms?.length || terms.some((t) => termMatches(t, node));
}

/** Whether the volume could serve the claim, leaving aside who else claims it. */
export function volumeMatches(pv: KubeObject, pvc: KubeObject): boolean {
  if (pv.metadata.deletionTimestamp) return false;
  if ((pv.spec?.storageClassName ?? '') !== claimClass(pvc)) return false;
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (pvc.spec?.volumeMode ?? 'Filesystem')) return false;
  const offered: string[] = pv.spec?.accessModes ?? [];
  if (!((pvc.spec?.accessModes ?? []) as string[]).every((m) => offered.includes(m))) return false;
  const want = parseQuantity(pvc.spec?.resources?.requests?.storage ?? '0');
  if (parseQuantity(pv.spec?.capacity?.storage ?? '0') < want) return false;
  if (pvc.spec?.selector && !selectorMatcher(pvc.spec.selector)(pv.metadata.labels)) return false;
  return true;
}

/**
 * The best free volume for a claim: one already pre-bound to it if that matches, else the
 * smallest Available one that nobody claims. With `node`, only volumes that node can reach.
 */
export function findVolume(
  pvc: KubeObject,
  pvs: readonly KubeObject[],
  node?: KubeObject,
): KubeObject | undefined {
  let best: KubeObject | undefined;
  let bestSize = Number.POSITIVE_INFINITY;
  for (const pv of pvs) {
    if (!volumeMatches(pv, pvc) || (node && !volumeFitsNode(pv, node))) continue;
    if (pv.spec?.claimRef?.name) {
      if (refersTo(pv, pvc)) return pv;
      continue;
    }
    const phase = pv.status?.phase;
    if (phase && phase !== 'Available' && phase !== 'Pending') continue;
    const size = parseQuantity(pv.spec?.capacity?.storage ?? '0');
    if (size < bestSize) {
      best = pv;
      bestSize = size;
    }
  }
  return best;
}

/** Whether binding of this claim waits for its first pod to be scheduled. */
export function waitsForConsumer(
  pvc: KubeObject,
  classes: (name: string) => KubeObject | undefined,
): boolean {
  const cls = claimClass(pvc);
  return cls !== '' && classes(cls)?.volumeBindingMode === 'WaitForFirstConsumer';
}

/** The PVC names a pod's volumes refer to (ephemeral volumes aside). */
export function podClaims(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const v of pod.spec?.volumes ?? [])
    if (v.persistentVolumeClaim?.claimName) out.push(v.persistentVolumeClaim.claimName);
  return out;
}
