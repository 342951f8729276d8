/**
 * The StatefulSet controller (after kube-controller-manager's): pods with stable names
 * `<set>-<ordinal>` (from spec.ordinals.start), hostname and subdomain (serviceName), and
 * per-pod PersistentVolumeClaims `<template>-<set>-<ordinal>` from volumeClaimTemplates.
 * OrderedReady creates them one at a time in order, each after the one before is Running
 * and Ready, and removes them from the highest ordinal down; Parallel does both at once.
 * RollingUpdate replaces pods whose revision is old from the highest ordinal down to the
 * partition, one at a time, each after the last is Ready again; OnDelete leaves that to the
 * user. Revisions are ControllerRevisions (history.ts), so `kubectl rollout status | history
 * | undo` work.
 */
import { isAlreadyExists, unlessNotFound } from '../../core/errors.js';
import { controllerRefOf } from '../client/controller-ref.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { type ControllerSpec, ownedBy, ownerKey } from './context.js';
import { ensureRevision, type HistoryActions } from './history.js';
import { isPodReady } from './pods.js';

export const REVISION_LABEL = 'controller-revision-hash';
export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

export interface StatefulSetCaches {
  getSet(key: string): KubeObject | undefined;
  podsOf(set: KubeObject): KubeObject[];
  revisionsOf(set: KubeObject): KubeObject[];
  claim(ns: string, name: string): KubeObject | undefined;
}

export interface StatefulSetActions extends HistoryActions {
  createPod(ns: string, pod: KubeObject): Promise<unknown>;
  deletePod(ns: string, name: string): Promise<unknown>;
  createClaim(ns: string, pvc: KubeObject): Promise<unknown>;
  deleteClaim(ns: string, name: string): Promise<unknown>;
  updateStatus(set: KubeObject): Promise<unknown>;
  event?(set: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

const ordinalOf = (set: KubeObject, pod: KubeObject): number | undefined => {
  const prefix = `${set.metadata.name}-`;
  const n = pod.metadata.name ?? '';
  if (!n.startsWith(prefix)) return undefined;
  const o = n.slice(prefix.length);
  return /^\d+$/.test(o) ? Number(o) : undefined;
};
const claimName = (tmpl: string, set: KubeObject, ordinal: number) =>
  `${tmpl}-${set.metadata.name}-${ordinal}`;
const healthy = (p: KubeObject) =>
  p.status?.phase === 'Running' && isPodReady(p) && !p.metadata.deletionTimestamp;

function podFor(set: KubeObject, ordinal: number, revision: string): KubeObject {
  const t = structuredClone(set.spec?.template ?? {});
  const name = `${set.metadata.name}-${ordinal}`;
  const spec = t.spec ?? {};
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  const claims = (set.spec?.volumeClaimTemplates ?? []) as KubeObject[];
  if (claims.length) {
    const vols = ((spec.volumes ?? []) as { name: string }[]).filter(
      (v) => !claims.some((c) => c.metadata?.name === v.name),
    );
    for (const c of claims)
      vols.push({
        name: c.metadata.name!,
        persistentVolumeClaim: { claimName: claimName(c.metadata.name!, set, ordinal) },
      } as {
        name: string;
      });
    spec.volumes = vols;
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: set.metadata.namespace,
      labels: {
        ...(t.metadata?.labels ?? {}),
        [REVISION_LABEL]: revision,
        [POD_NAME_LABEL]: name,
        [POD_INDEX_LABEL]: String(ordinal),
      },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [controllerRefOf(set, 'apps/v1', 'StatefulSet')],
    },
    spec,
  };
}

/** One level-triggered pass for a StatefulSet. */
export async function syncStatefulSet(
  key: string,
  caches: StatefulSetCaches,
  act: StatefulSetActions,
): Promise<void> {
  const set = caches.getSet(key);
  if (!set || set.metadata.deletionTimestamp) return;
  const ns = set.metadata.namespace!;
  const replicas: number = set.spec?.replicas ?? 1;
  const start: number = set.spec?.ordinals?.start ?? 0;
  const parallel = set.spec?.podManagementPolicy === 'Parallel';
  const pods = caches.podsOf(set).filter((p) => ordinalOf(set, p) !== undefined);
  const inUse = new Set(pods.map((p) => p.metadata.labels?.[REVISION_LABEL] ?? ''));
  const updateRevision = await ensureRevision(set, 'StatefulSet', caches.revisionsOf(set), inUse, act);
  const byOrdinal = new Map(pods.map((p) => [ordinalOf(set, p)!, p]));
  const wanted = (o: number) => o >= start && o < start + replicas;
  const claims = (set.spec?.volumeClaimTemplates ?? []) as KubeObject[];

  const ensureClaims = async (ordinal: number) => {
    const deleteWithSet = set.spec?.persistentVolumeClaimRetentionPolicy?.whenDeleted === 'Delete';
    for (const c of claims) {
      const name = claimName(c.metadata.name!, set, ordinal);
      if (caches.claim(ns, name)) continue;
      await act
        .createClaim(ns, {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: {
            name,
            namespace: ns,
            labels: { ...(set.spec?.selector?.matchLabels ?? {}) },
            ...(deleteWithSet
              ? {
                  ownerReferences: [controllerRefOf(set, 'apps/v1', 'StatefulSet')],
                }
              : {}),
          },
          spec: structuredClone(c.spec ?? {}),
        })
        .catch((e) => {
          if (!isAlreadyExists(e)) throw e;
        });
    }
  };
  const create = async (ordinal: number) => {
    await ensureClaims(ordinal);
    await act.createPod(ns, podFor(set, ordinal, updateRevision)).catch((e) => {
      if (!isAlreadyExists(e)) throw e;
    });
    act.event?.(
      set,
      'Normal',
      'SuccessfulCreate',
      `create Pod ${set.metadata.name}-${ordinal} in StatefulSet ${set.metadata.name} successful`,
    );
  };
  const remove = async (p: KubeObject) => {
    await unlessNotFound(act.deletePod(ns, p.metadata.name!));
    act.event?.(
      set,
      'Normal',
      'SuccessfulDelete',
      `delete Pod ${p.metadata.name} in StatefulSet ${set.metadata.name} successful`,
    );
  };

  let blocked = false; // OrderedReady: a pod not yet healthy holds the rest back
  // Scale up (and replace failed pods), in ordinal order.
  for (let o = start; o < start + replicas && !blocked; o++) {
    const p = byOrdinal.get(o);
    if (!p) {
      await create(o);
      if (!parallel) blocked = true;
      continue;
    }
    if (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') {
      await remove(p);
      if (!parallel) blocked = true;
      continue;
    }
    if (!parallel && !healthy(p)) blocked = true;
  }
  // Scale down, from the highest ordinal.
  const extra = pods
    .filter((p) => !wanted(ordinalOf(set, p)!))
    .sort((a, b) => ordinalOf(set, b)! - ordinalOf(set, a)!);
  if (!blocked)
    for (const p of parallel ? extra : extra.slice(0, 1)) {
      if (p.metadata.deletionTimestamp) {
        if (!parallel) blocked = true;
        continue;
      }
      await remove(p);
      if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled === 'Delete')
        for (const c of claims)
          await unlessNotFound(act.deleteClaim(ns, claimName(c.metadata.name!, set, ordinalOf(set, p)!)));
      if (!parallel) blocked = true;
    }
  // Rolling update: highest ordinal first, down to the partition, one at a time.
  const strategy = set.spec?.updateStrategy ?? {};
  if (!blocked && (strategy.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const partition: number = strategy.rollingUpdate?.partition ?? 0;
    const current = [...byOrdinal.entries()].filter(([o]) => wanted(o)).sort((a, b) => b[0] - a[0]);
    if (current.every(([, p]) => healthy(p)))
      for (const [o, p] of current) {
        if (o < start + partition) break;
        if (p.metadata.labels?.[REVISION_LABEL] !== updateRevision) {
          await remove(p);
          break;
        }
      }
  }

  // Status.
  const live = pods.filter((p) => wanted(ordinalOf(set, p)!) && !p.metadata.deletionTimestamp);
  const updated = live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === updateRevision).length;
  const ready = live.filter((p) => isPodReady(p)).length;
  let currentRevision: string = set.status?.currentRevision ?? updateRevision;
  if (updated === replicas && ready === replicas) currentRevision = updateRevision;
  const status = {
    observedGeneration: set.metadata.generation ?? 1,
    replicas: live.length,
    readyReplicas: ready,
    availableReplicas: ready,
    currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_LABEL] === currentRevision).length,
    updatedReplicas: updated,
    currentRevision,
    updateRevision,
    collisionCount: 0,
  };
  const cur = set.status ?? {};
  if (Object.entries(status).some(([k, v]) => cur[k] !== v))
    await act.updateStatus({ ...set, status: { ...cur, ...status } });
}

export const statefulSetController: ControllerSpec = {
  name: 'statefulset',
  start(ctx) {
    const sets = ctx.informer(Resources.statefulsets);
    const pods = ctx.informer(Resources.pods);
    const revisions = ctx.informer(Resources.controllerrevisions);
    const claims = ctx.informer(Resources.persistentvolumeclaims);
    const q = ctx.queue(
      (key) =>
        syncStatefulSet(
          key,
          {
            getSet: (k) => sets.get(k),
            podsOf: (s) => ownedBy(pods, s.metadata.uid!),
            revisionsOf: (s) => ownedBy(revisions, s.metadata.uid!),
            claim: (ns, name) => claims.get(`${ns}/${name}`),
          },
          {
            createPod: (ns, p) => ctx.client.create(Resources.pods, ns, p),
            deletePod: (ns, name) => ctx.client.delete(Resources.pods, ns, name),
            createClaim: (ns, c) => ctx.client.create(Resources.persistentvolumeclaims, ns, c),
            deleteClaim: (ns, name) => ctx.client.delete(Resources.persistentvolumeclaims, ns, name),
            createRevision: (ns, r) => ctx.client.create(Resources.controllerrevisions, ns, r),
            updateRevision: (r) => ctx.client.update(Resources.controllerrevisions, r),
            deleteRevision: (ns, name) => ctx.client.delete(Resources.controllerrevisions, ns, name),
            updateStatus: (s) => ctx.client.updateStatus(Resources.statefulsets, s),
            event: (o, type, reason, message) =>
              ctx
                .recorder('statefulset-controller')
                .record({ ...o, apiVersion: 'apps/v1', kind: 'StatefulSet' }, type, reason, message),
          },
        ),
      4,
    );
    sets.onAdd((s) => q.add(keyOf(s))).onUpdate((s) => q.add(keyOf(s)));
    const onOwned = (o: KubeObject) => {
      const k = ownerKey(o, 'StatefulSet');
      if (k) q.add(k);
    };
    pods.onAdd(onOwned).onUpdate(onOwned).onDelete(onOwned);
    revisions.onAdd(onOwned).onDelete(onOwned);
  },
};
