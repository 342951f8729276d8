/**
 * Storage object in-use protection (kube-controller-manager's pvc-protection and
 * pv-protection): the API server gives every claim the `kubernetes.io/pvc-protection`
 * finalizer and every volume `kubernetes.io/pv-protection`, so deleting one only marks it.
 * These loops remove the finalizer when it is safe: a claim once no pod that is still
 * running or pending uses it (checked with a live list, since a new pod may not be in the
 * cache yet), a volume once it is no longer Bound.
 */
import { unlessNotFound } from '../../core/errors.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';
import { isPodTerminal } from './pods.js';
import { podClaims } from './volume-match.js';

export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

export interface ProtectionActions {
  /** The pods of a namespace, read live. */
  podsIn(namespace: string): Promise<KubeObject[]>;
  /** Writes the object back without the finalizer (compare-and-set on its resourceVersion). */
  release(obj: KubeObject, finalizer: string): Promise<unknown>;
}

const held = (o: KubeObject | undefined, fin: string) =>
  !!o?.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).includes(fin);

/** Whether a pod that has not finished names the claim. */
export function claimInUse(pvc: KubeObject, pods: readonly KubeObject[]): boolean {
  return pods.some((p) => !isPodTerminal(p) && podClaims(p).includes(pvc.metadata.name!));
}

export async function syncClaimProtection(
  pvc: KubeObject | undefined,
  act: ProtectionActions,
): Promise<void> {
  if (!pvc || !held(pvc, PVC_PROTECTION)) return;
  if (claimInUse(pvc, await act.podsIn(pvc.metadata.namespace!))) return;
  await act.release(pvc, PVC_PROTECTION);
}

export async function syncVolumeProtection(
  pv: KubeObject | undefined,
  act: ProtectionActions,
): Promise<void> {
  if (!pv || !held(pv, PV_PROTECTION) || pv.status?.phase === 'Bound') return;
  await act.release(pv, PV_PROTECTION);
}

function actions(ctx: Parameters<ControllerSpec['start']>[0]): ProtectionActions {
  return {
    podsIn: async (ns) => (await ctx.client.list(Resources.pods, ns)).items,
    release: (o, fin) =>
      unlessNotFound(
        ctx.client.update(
          o.metadata.namespace ? Resources.persistentvolumeclaims : Resources.persistentvolumes,
          {
            ...o,
            metadata: { ...o.metadata, finalizers: (o.metadata.finalizers ?? []).filter((f) => f !== fin) },
          },
        ),
      ),
  };
}

export const pvcProtectionController: ControllerSpec = {
  name: 'pvc-protection',
  start(ctx) {
    const claims = ctx.informer(Resources.persistentvolumeclaims);
    const act = actions(ctx);
    const queue = ctx.queue((k) => syncClaimProtection(claims.get(k), act), 2);
    const onClaim = (pvc: KubeObject) => {
      if (held(pvc, PVC_PROTECTION)) queue.add(keyOf(pvc));
    };
    claims.onAdd(onClaim).onUpdate(onClaim);
    // A pod that finishes or goes may free the claims it named.
    const onPod = (p: KubeObject) => {
      for (const name of podClaims(p)) {
        const k = `${p.metadata.namespace}/${name}`;
        if (held(claims.get(k), PVC_PROTECTION)) queue.add(k);
      }
    };
    ctx.informer(Resources.pods).onUpdate(onPod).onDelete(onPod);
  },
};

export const pvProtectionController: ControllerSpec = {
  name: 'pv-protection',
  start(ctx) {
    const volumes = ctx.informer(Resources.persistentvolumes);
    const act = actions(ctx);
    const queue = ctx.queue((k) => syncVolumeProtection(volumes.get(k), act), 2);
    const on = (pv: KubeObject) => {
      if (held(pv, PV_PROTECTION)) queue.add(pv.metadata.name!);
    };
    volumes.onAdd(on).onUpdate(on);
  },
};
