import { isNotFound } from '../../core/errors.js';
import { selectorMatcher } from '../api/selectors.js';
import { claimObjects, controllerRefOf } from '../client/controller-ref.js';
import { Expectations } from '../client/expectations.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { MutationCache } from '../client/mutation-cache.js';
import { createPods } from '../client/pod-control.js';
import { type ControllerSpec, inNamespace, orphansIn, ownedBy, ownerKey } from './context.js';
import { deletionOrder, isActive, isPodReady, readySince } from './pods.js';

export { Expectations };

/** What the ReplicaSet controller does to the cluster (a KubeClient in production, a recorder in tests). */
export interface ReplicaSetActions {
  createPod(namespace: string, pod: KubeObject): Promise<unknown>;
  deletePod(namespace: string, name: string): Promise<unknown>;
  updateStatus(rs: KubeObject): Promise<unknown>;
  /** Writes a pod's ownerReferences: adopting an orphan, releasing a pod that stopped matching. */
  setPodOwners?(pod: KubeObject, ownerReferences: readonly object[]): Promise<unknown>;
  /** A live read: the ReplicaSet still exists with this uid and is not being deleted. */
  canAdopt?(rs: KubeObject): Promise<boolean>;
  /** Sync this key again later (a pod that becomes available after minReadySeconds). */
  requeueAfter?(key: string, ms: number): void;
  /** Records an event about the ReplicaSet. */
  event?(rs: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

/** The caches the controller reads. */
export interface ReplicaSetCaches {
  getReplicaSet(key: string): KubeObject | undefined;
  /** The pods of a namespace; given the ReplicaSet's uid, only (at least) those it controls. */
  podsIn(namespace: string, ownerUid?: string): KubeObject[];
  /** The pods of a namespace without a controller (candidates for adoption). */
  orphansIn?(namespace: string): KubeObject[];
}

/** Pods are created at most this many per sync (upstream's burst). */
const BURST = 500;

const ref = (rs: KubeObject) => controllerRefOf(rs, 'apps/v1', 'ReplicaSet');

/**
 * The active pods the ReplicaSet controls once claiming is done (Kubernetes'
 * `ClaimPods`): matching orphans are adopted, controlled pods that stopped matching its
 * selector are released, pods of other controllers are left alone.
 */
export async function claimPods(
  rs: KubeObject,
  caches: ReplicaSetCaches,
  act: ReplicaSetActions,
): Promise<KubeObject[]> {
  const ns = rs.metadata.namespace!;
  const match = selectorMatcher(rs.spec?.selector ?? {});
  const candidates = new Set([...caches.podsIn(ns, rs.metadata.uid), ...(caches.orphansIn?.(ns) ?? [])]);
  const claimed = await claimObjects(rs, ref(rs), (p) => match(p.metadata.labels), [...candidates], {
    setOwners: (p, refs) => act.setPodOwners?.(p, refs) ?? Promise.resolve(),
    canAdopt: act.canAdopt ? () => act.canAdopt!(rs) : undefined,
  });
  return claimed.filter(isActive);
}

export function podFromTemplate(rs: KubeObject): KubeObject {
  const t = rs.spec?.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}) },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [ref(rs)],
    },
    spec: structuredClone(t.spec ?? {}),
  };
}

/**
 * One level-triggered pass for a ReplicaSet: compare the pods it owns with spec.replicas,
 * create or delete the difference, and write its status. NotFound means it is gone: done.
 */
export async function syncReplicaSet(
  key: string,
  caches: ReplicaSetCaches,
  act: ReplicaSetActions,
  exp: Expectations,
): Promise<void> {
  const rs = caches.getReplicaSet(key);
  if (!rs || rs.metadata.deletionTimestamp) return;
  const ns = rs.metadata.namespace!;
  const pods = await claimPods(rs, caches, act);
  const want = rs.spec?.replicas ?? 1;
  if (exp.satisfied(key)) {
    const diff = want - pods.length;
    if (diff > 0) {
      // At most BURST per sync, in slow-start batches: a template the API refuses costs one call.
      await createPods(
        key,
        exp,
        Array.from({ length: Math.min(diff, BURST) }, () => podFromTemplate(rs)),
        (p) => act.createPod(ns, p),
        (c) =>
          act.event?.(
            rs,
            'Normal',
            'SuccessfulCreate',
            `Created pod: ${(c as KubeObject)?.metadata?.name ?? ''}`,
          ),
      ).catch((e: Error) => {
        act.event?.(rs, 'Warning', 'FailedCreate', `Error creating: ${e?.message ?? String(e)}`);
        throw e;
      });
    } else if (diff < 0) {
      const victims = [...pods].sort(deletionOrder).slice(0, -diff);
      exp.expect(key, 0, victims.length);
      await Promise.all(
        victims.map((p) =>
          act.deletePod(ns, p.metadata.name!).then(
            () => act.event?.(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`),
            (e) => {
              exp.observed(key, 'del');
              if (!isNotFound(e)) throw e;
            },
          ),
        ),
      );
    }
  }
  const readyPods = pods.filter(isPodReady);
  const minReady = (rs.spec?.minReadySeconds ?? 0) * 1000;
  const now = Date.now();
  let available = 0;
  let soonest = Number.POSITIVE_INFINITY;
  // Without minReadySeconds every ready pod is available (upstream's IsPodAvailable asks no
  // more): each pod's change syncs its ReplicaSet, which reads every pod, so parsing each
  // one's transition time made a Deployment's start O(pods^2) in Date.parse.
  if (minReady === 0) available = readyPods.length;
  else
    for (const p of readyPods) {
      const wait = readySince(p) + minReady - now;
      if (wait <= 0) available++;
      else soonest = Math.min(soonest, wait);
    }
  // A pod ready for less than minReadySeconds becomes available later with no event to say so.
  if (soonest !== Number.POSITIVE_INFINITY) act.requeueAfter?.(key, soonest + 10);
  const status = {
    replicas: pods.length,
    fullyLabeledReplicas: pods.length,
    readyReplicas: readyPods.length,
    availableReplicas: available,
    observedGeneration: rs.metadata.generation ?? 1,
  };
  const cur = rs.status ?? {};
  if (Object.entries(status).some(([k, v]) => (cur[k] ?? 0) !== v)) {
    await act.updateStatus({ ...rs, status: { ...cur, ...status } });
  }
}

/** The ReplicaSet controller: queues a ReplicaSet when it or one of its pods changes. */
export const replicaSetController: ControllerSpec = {
  name: 'replicaset',
  start(ctx) {
    const pods = ctx.informer(Resources.pods);
    const replicasets = ctx.informer(Resources.replicasets);
    const exp = new Expectations();
    // Status writes of its own that the informer has not shown yet (see MutationCache).
    const written = new MutationCache(replicasets);
    const q = ctx.queue(
      (key) =>
        syncReplicaSet(
          key,
          {
            getReplicaSet: (k) => written.get(k),
            podsIn: (ns, uid) => (uid ? ownedBy(pods, uid) : inNamespace(pods, ns)),
            orphansIn: (ns) => orphansIn(pods, ns),
          },
          {
            createPod: (ns, pod) => ctx.client.create(Resources.pods, ns, pod),
            deletePod: (ns, name) => ctx.client.delete(Resources.pods, ns, name),
            updateStatus: async (rs) =>
              written.mutated(await ctx.client.updateStatus(Resources.replicasets, rs)),
            setPodOwners: (p, ownerReferences) =>
              ctx.client.patch(Resources.pods, p.metadata.namespace, p.metadata.name!, {
                metadata: {
                  uid: p.metadata.uid,
                  resourceVersion: p.metadata.resourceVersion,
                  ownerReferences,
                },
              }),
            canAdopt: async (rs) => {
              const live = await ctx.client.get(
                Resources.replicasets,
                rs.metadata.namespace,
                rs.metadata.name!,
              );
              return live.metadata.uid === rs.metadata.uid && !live.metadata.deletionTimestamp;
            },
            requeueAfter: (k, ms) => q.checkAfter(k, ms),
            event: (o, type, reason, message) =>
              ctx
                .recorder('replicaset-controller')
                .record({ ...o, apiVersion: 'apps/v1', kind: 'ReplicaSet' }, type, reason, message),
          },
          exp,
        ),
      4,
    );
    const rsKeyOfPod = (p: KubeObject) => ownerKey(p, 'ReplicaSet');
    // An orphan wakes every ReplicaSet whose selector it matches (one of them adopts it).
    const matchingSets = (p: KubeObject) =>
      inNamespace(replicasets, p.metadata.namespace!).filter((rs) =>
        selectorMatcher(rs.spec?.selector ?? {})(p.metadata.labels),
      );
    replicasets
      .onAdd((rs) => q.add(keyOf(rs)))
      .onUpdate((rs) => q.add(keyOf(rs)))
      .onDelete((rs) => exp.delete(keyOf(rs)));
    pods
      .onAdd((p) => {
        const k = rsKeyOfPod(p);
        if (k) {
          exp.observed(k, 'add');
          q.add(k);
        } else for (const rs of matchingSets(p)) q.add(keyOf(rs));
      })
      .onUpdate((p, old) => {
        const k = rsKeyOfPod(p);
        const was = old && rsKeyOfPod(old);
        if (was && was !== k) q.add(was); // released or re-owned: the old owner recounts
        if (k) q.add(k);
        else for (const rs of matchingSets(p)) q.add(keyOf(rs));
      })
      .onDelete((p) => {
        const k = rsKeyOfPod(p);
        if (k) {
          exp.observed(k, 'del');
          q.add(k);
        }
      });
  },
};
