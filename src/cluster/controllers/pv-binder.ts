/**
 * The PersistentVolume binder (kube-controller-manager's persistentvolume-binder, for
 * statically provisioned volumes): binds each pending claim to the smallest matching free
 * volume, completes bindings the user or the scheduler began (a claim naming a volume, a
 * volume whose claimRef names a claim), keeps both phases true (Available, Bound, Released,
 * Lost) and reclaims a volume whose claim is gone by its policy (Retain keeps it Released,
 * Delete removes the object). Claims of a WaitForFirstConsumer class wait for the scheduler,
 * which picks a volume the pod's node can reach and pre-binds it.
 *
 * Binding writes the volume first (its claimRef, compare-and-set on the resourceVersion), so
 * two claims racing for one volume cannot both win: the loser's write conflicts and retries.
 * There is no provisioner: a claim that no volume matches stays Pending with an event.
 */
import { isAlreadyExists, isNotFound, unlessNotFound } from '../../core/errors.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';
import { LOCAL_PATH_PROVISIONER, provisionsLocally, provisionVolume } from './local-path.js';
import {
  claimClass,
  claimRefFor,
  claimRefKey,
  findVolume,
  refersTo,
  SELECTED_NODE,
  type VolumeCaches,
  volumeCaches,
  waitsForConsumer,
} from './volume-match.js';

const BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
const BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';

export type BinderCaches = VolumeCaches;

export interface BinderActions {
  /** PUT of the whole object (compare-and-set on its resourceVersion). */
  updateVolume(pv: KubeObject): Promise<KubeObject>;
  volumeStatus(pv: KubeObject, status: object): Promise<unknown>;
  updateClaim(pvc: KubeObject): Promise<KubeObject>;
  claimStatus(pvc: KubeObject, status: object): Promise<unknown>;
  deleteVolume(pv: KubeObject): Promise<unknown>;
  createVolume(pv: KubeObject): Promise<KubeObject>;
  /** A live read, for the one decision a stale cache must not make: that a claim is gone. */
  claimExists(namespace: string, name: string, uid: string): Promise<boolean>;
  event(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  /** Queue the other side of a binding. */
  enqueueClaim(key: string): void;
}

/** Writes the volume's half of a binding (claimRef with the claim's uid); returns the volume. */
async function bindVolume(pv: KubeObject, pvc: KubeObject, act: BinderActions): Promise<KubeObject> {
  if (pv.spec?.claimRef?.uid === pvc.metadata.uid) return pv;
  const byUs = !pv.spec?.claimRef?.name;
  return act.updateVolume({
    ...pv,
    metadata: {
      ...pv.metadata,
      annotations: { ...(pv.metadata.annotations ?? {}), ...(byUs ? { [BOUND_BY_CONTROLLER]: 'yes' } : {}) },
    },
    spec: { ...pv.spec, claimRef: claimRefFor(pvc) },
  });
}

/** Writes the claim's half (volumeName, then status Bound with the volume's capacity). */
async function bindClaim(pvc: KubeObject, pv: KubeObject, act: BinderActions): Promise<void> {
  let cur = pvc;
  const ann = pvc.metadata.annotations ?? {};
  if (pvc.spec?.volumeName !== pv.metadata.name || ann[BIND_COMPLETED] !== 'yes') {
    cur = await act.updateClaim({
      ...pvc,
      metadata: {
        ...pvc.metadata,
        annotations: {
          ...ann,
          [BIND_COMPLETED]: 'yes',
          ...(pvc.spec?.volumeName ? {} : { [BOUND_BY_CONTROLLER]: 'yes' }),
        },
      },
      spec: { ...pvc.spec, volumeName: pv.metadata.name },
    });
  }
  if (pvc.status?.phase !== 'Bound') {
    await act.claimStatus(cur, {
      phase: 'Bound',
      accessModes: pv.spec?.accessModes ?? [],
      capacity: pv.spec?.capacity ?? {},
    });
  }
  if (pv.status?.phase !== 'Bound') await act.volumeStatus(pv, { phase: 'Bound' });
}

/** Why a claim stays Pending, once per message (the event recorder aggregates repeats). */
async function pending(
  pvc: KubeObject,
  act: BinderActions,
  type: 'Normal' | 'Warning',
  reason: string,
  msg: string,
): Promise<void> {
  act.event(pvc, type, reason, msg);
  if (pvc.status?.phase !== 'Pending') await act.claimStatus(pvc, { phase: 'Pending' });
}

export async function syncClaim(key: string, caches: BinderCaches, act: BinderActions): Promise<void> {
  const pvc = caches.claim(key);
  if (!pvc || pvc.metadata.deletionTimestamp) return;
  const name = pvc.spec?.volumeName as string | undefined;
  if (name) {
    const pv = caches.volume(name);
    if (!pv) {
      if (pvc.status?.phase === 'Bound') {
        act.event(
          pvc,
          'Warning',
          'ClaimLost',
          'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!',
        );
        await act.claimStatus(pvc, { phase: 'Lost' });
        return;
      }
      return pending(pvc, act, 'Normal', 'FailedBinding', `volume "${name}" not found`);
    }
    if (pv.spec?.claimRef?.name && !refersTo(pv, pvc))
      return pending(
        pvc,
        act,
        'Warning',
        'FailedBinding',
        `volume "${name}" already bound to a different claim.`,
      );
    await bindClaim(pvc, await bindVolume(pv, pvc, act), act);
    return;
  }
  // A volume pre-bound to this claim, by its author or by the scheduler (WaitForFirstConsumer).
  let pv = caches.volumes().find((v) => refersTo(v, pvc));
  if (!pv) {
    const wait = waitsForConsumer(pvc, caches.storageClass);
    const node = pvc.metadata.annotations?.[SELECTED_NODE];
    if (wait && !node)
      return pending(
        pvc,
        act,
        'Normal',
        'WaitForFirstConsumer',
        'waiting for first consumer to be created before binding',
      );
    if (!wait) pv = findVolume(pvc, caches.volumes());
    const cls = caches.storageClass(claimClass(pvc));
    if (!pv && cls && provisionsLocally(cls)) {
      if (!node)
        return pending(
          pvc,
          act,
          'Warning',
          'ProvisioningFailed',
          `the ${LOCAL_PATH_PROVISIONER} provisioner needs volumeBindingMode WaitForFirstConsumer`,
        );
      const made = provisionVolume(pvc, cls, node);
      act.event(
        pvc,
        'Normal',
        'Provisioning',
        `External provisioner is provisioning volume for claim "${pvc.metadata.namespace}/${pvc.metadata.name}"`,
      );
      try {
        pv = await act.createVolume(made);
      } catch (e) {
        // Made by an earlier pass that stopped before binding: bind that one.
        if (!isAlreadyExists(e)) throw e;
        pv = caches.volume(made.metadata.name!);
        if (!pv) throw e;
      }
      act.event(
        pvc,
        'Normal',
        'ProvisioningSucceeded',
        `Successfully provisioned volume ${made.metadata.name}`,
      );
    }
  }
  if (!pv) {
    const cls = claimClass(pvc);
    const msg = !cls
      ? 'no persistent volumes available for this claim and no storage class is set'
      : !caches.storageClass(cls)
        ? `storageclass.storage.k8s.io "${cls}" not found`
        : `no persistent volumes available for this claim in storage class "${cls}", and Berth provisions none`;
    return pending(
      pvc,
      act,
      'Warning',
      cls && !caches.storageClass(cls) ? 'ProvisioningFailed' : 'FailedBinding',
      msg,
    );
  }
  await bindClaim(pvc, await bindVolume(pv, pvc, act), act);
}

export async function syncVolume(name: string, caches: BinderCaches, act: BinderActions): Promise<void> {
  const pv = caches.volume(name);
  if (!pv || pv.metadata.deletionTimestamp) return;
  const ref = pv.spec?.claimRef;
  const phase = pv.status?.phase;
  if (!ref?.name) {
    if (phase !== 'Available') await act.volumeStatus(pv, { phase: 'Available' });
    return;
  }
  const claimKey = claimRefKey(pv)!;
  const claim = caches.claim(claimKey);
  if (!ref.uid) {
    // Pre-bound by name: free until that claim exists, which the claim's sync then binds.
    if (phase !== 'Available') await act.volumeStatus(pv, { phase: 'Available' });
    if (claim) act.enqueueClaim(claimKey);
    return;
  }
  if (claim && claim.metadata.uid === ref.uid) {
    if (claim.spec?.volumeName !== name || claim.status?.phase !== 'Bound') act.enqueueClaim(claimKey);
    else if (phase !== 'Bound') await act.volumeStatus(pv, { phase: 'Bound' });
    return;
  }
  const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
  // Released and kept, or failed: nothing more to do. (A Released volume of the Delete
  // policy is one whose deletion has not gone through yet.)
  if (phase === 'Failed' || (phase === 'Released' && policy !== 'Delete')) return;
  // The cache may not have seen a new claim yet: only a live read says it is gone.
  if (await act.claimExists(ref.namespace ?? '', ref.name, ref.uid)) return;
  if (policy === 'Delete') {
    // Released first: pv-protection lets a volume go only once it is no longer Bound.
    if (phase !== 'Released') await act.volumeStatus(pv, { phase: 'Released' });
    await unlessNotFound(act.deleteVolume(pv));
    return;
  }
  if (policy === 'Recycle') {
    act.event(
      pv,
      'Warning',
      'VolumeFailedRecycle',
      'Recycle is deprecated and not supported; use Retain or Delete',
    );
    await act.volumeStatus(pv, { phase: 'Failed', message: 'Recycle is not supported' });
    return;
  }
  await act.volumeStatus(pv, { phase: 'Released' });
}

/** The binder as a control-plane member: claims and volumes on one queue (`c:` / `v:` keys). */
export const pvBinderController: ControllerSpec = {
  name: 'persistentvolume-binder',
  start(ctx) {
    const claims = ctx.informer(Resources.persistentvolumeclaims);
    const volumes = ctx.informer(Resources.persistentvolumes);
    const classes = ctx.informer(Resources.storageclasses);
    const client = ctx.client;
    const caches = volumeCaches(ctx);
    const act: BinderActions = {
      updateVolume: (pv) => client.update(Resources.persistentvolumes, pv),
      volumeStatus: (pv, status) =>
        client.patchStatus(Resources.persistentvolumes, undefined, pv.metadata.name!, { status }),
      updateClaim: (pvc) => client.update(Resources.persistentvolumeclaims, pvc),
      claimStatus: (pvc, status) =>
        client.patchStatus(Resources.persistentvolumeclaims, pvc.metadata.namespace, pvc.metadata.name!, {
          status,
        }),
      createVolume: (pv) => client.create(Resources.persistentvolumes, undefined, pv),
      deleteVolume: (pv) =>
        client.delete(Resources.persistentvolumes, undefined, pv.metadata.name!, { uid: pv.metadata.uid }),
      claimExists: async (ns, name, uid) => {
        try {
          return (await client.get(Resources.persistentvolumeclaims, ns, name)).metadata.uid === uid;
        } catch (e) {
          if (isNotFound(e)) return false;
          throw e;
        }
      },
      event: (obj, type, reason, message) =>
        ctx.recorder('persistentvolume-controller').record(
          {
            ...obj,
            apiVersion: 'v1',
            kind: obj.metadata.namespace ? 'PersistentVolumeClaim' : 'PersistentVolume',
          },
          type,
          reason,
          message,
        ),
      enqueueClaim: (k) => queue.add(`c:${k}`),
    };
    const queue = ctx.queue(
      (k) => (k.startsWith('c:') ? syncClaim(k.slice(2), caches, act) : syncVolume(k.slice(2), caches, act)),
      4,
    );
    const onClaim = (o: KubeObject) => queue.add(`c:${keyOf(o)}`);
    claims.onAdd(onClaim).onUpdate(onClaim);
    const onVolume = (pv: KubeObject) => {
      queue.add(`v:${pv.metadata.name}`);
      const k = claimRefKey(pv);
      if (k) queue.add(`c:${k}`);
    };
    volumes.onAdd(onVolume).onUpdate(onVolume);
    // A deleted claim releases its volume; a deleted volume loses its claim.
    claims.onDelete((pvc) => {
      for (const pv of volumes.list()) if (refersTo(pv, pvc)) queue.add(`v:${pv.metadata.name}`);
    });
    volumes.onDelete((pv) => {
      const k = claimRefKey(pv);
      if (k) queue.add(`c:${k}`);
    });
    // A new or changed class may let pending claims proceed.
    const onClass = () => {
      for (const pvc of claims.list()) if (pvc.status?.phase !== 'Bound') onClaim(pvc);
    };
    classes.onAdd(onClass).onUpdate(onClass);
  },
};
