/**
 * The scheduler's view of a pod's PersistentVolumeClaims (kube-scheduler's VolumeBinding and
 * VolumeRestrictions, for static volumes): a claim that is missing, being deleted or still
 * unbound in Immediate mode keeps the pod off every node; a bound claim admits only nodes its
 * volume's node affinity allows; a WaitForFirstConsumer claim admits nodes where a free
 * matching volume is reachable, and once the node is chosen that volume is pre-bound to it
 * (the binder completes the binding), or, for Berth's local-path class, the node is recorded
 * on the claim and the binder provisions a volume there.
 */
import type { KubeObject } from '../client/kube-client.js';
import { provisionsLocally } from '../controllers/local-path.js';
import {
  claimClass,
  findVolume,
  podClaims,
  type VolumeCaches,
  volumeFitsNode,
  waitsForConsumer,
} from '../controllers/volume-match.js';

export type { VolumeCaches };

export interface VolumePlan {
  /** A reason that holds for every node (kube-scheduler's PreFilter failure), if any. */
  everywhere?: string;
  /** Why this node cannot serve the pod's volumes, or undefined. */
  unfit(node: KubeObject): string | undefined;
  /** For the chosen node: the free volume each waiting claim gets (none: to be provisioned). */
  choose(node: KubeObject): { claim: KubeObject; volume?: KubeObject }[];
}

export const VOLUME_CONFLICT = 'node(s) had volume node affinity conflict';
export const NO_VOLUME = "node(s) didn't find available persistent volumes to bind";

/** The plan for a pod's claims; undefined when it has none (the common case costs nothing). */
export function planVolumes(pod: KubeObject, caches: VolumeCaches): VolumePlan | undefined {
  const names = podClaims(pod);
  if (names.length === 0) return undefined;
  const ns = pod.metadata.namespace ?? 'default';
  const bound: KubeObject[] = [];
  const waiting: KubeObject[] = [];
  for (const name of names) {
    const pvc = caches.claim(`${ns}/${name}`);
    if (!pvc) return fail(`persistentvolumeclaim "${name}" not found`);
    if (pvc.metadata.deletionTimestamp) return fail(`persistentvolumeclaim "${name}" is being deleted`);
    const vn = pvc.spec?.volumeName as string | undefined;
    if (vn) {
      const pv = caches.volume(vn);
      if (!pv) return fail(`node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)`);
      bound.push(pv);
    } else if (waitsForConsumer(pvc, caches.storageClass)) waiting.push(pvc);
    else return fail('pod has unbound immediate PersistentVolumeClaims');
  }
  /** Free volumes for the waiting claims on this node, each volume used once. */
  const assign = (node: KubeObject) => {
    const taken = new Set<string>();
    const out: { claim: KubeObject; volume?: KubeObject }[] = [];
    const all = waiting.length ? caches.volumes() : [];
    for (const claim of waiting) {
      const pv = findVolume(
        claim,
        all.filter((v) => !taken.has(v.metadata.name!)),
        node,
      );
      if (!pv) {
        // Berth's own provisioner makes a volume on whichever node is chosen.
        if (provisionsLocally(caches.storageClass(claimClass(claim)))) {
          out.push({ claim });
          continue;
        }
        return undefined;
      }
      taken.add(pv.metadata.name!);
      out.push({ claim, volume: pv });
    }
    return out;
  };
  return {
    unfit(node) {
      if (!bound.every((pv) => volumeFitsNode(pv, node))) return VOLUME_CONFLICT;
      if (waiting.length && !assign(node)) return NO_VOLUME;
      return undefined;
    },
    choose: (node) => assign(node) ?? [],
  };
}

function fail(reason: string): VolumePlan {
  return { everywhere: reason, unfit: () => reason, choose: () => [] };
}
