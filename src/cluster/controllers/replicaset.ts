import { isNotFound } from '../../core/errors.js';
import { selectorMatcher } from '../api/selectors.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { WorkQueue } from '../client/work-queue.js';
import { type ControllerSpec, inNamespace, ownedBy } from './context.js';
import { recordEvent } from './events.js';
import { controllerUid, deletionOrder, isActive, isPodReady, readySince } from './pods.js';

/** What the ReplicaSet controller does to the cluster (a KubeClient in production, a recorder in tests). */
export interface ReplicaSetActions {
  createPod(namespace: string, pod: KubeObject): Promise<unknown>;
  deletePod(namespace: string, name: string): Promise<unknown>;
  updateStatus(rs: KubeObject): Promise<unknown>;
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
}

/**
 * Creations and deletions a ReplicaSet is waiting to see in the pod cache (client-go's
 * "expectations"): until they show up, a second sync must not act on a stale count and
 * create the same pods twice. They expire, so a lost event only delays.
 */
export class Expectations {
  private readonly m = new Map<string, { adds: number; dels: number; until: number }>();
  expect(key: string, adds: number, dels: number): void {
    this.m.set(key, { adds, dels, until: Date.now() + 10_000 });
  }
  observed(key: string, kind: 'add' | 'del'): void {
    const e = this.m.get(key);
    if (!e) return;
    if (kind === 'add') e.adds--;
    else e.dels--;
  }
  satisfied(key: string): boolean {
    const e = this.m.get(key);
    if (!e) return true;
    if ((e.adds <= 0 && e.dels <= 0) || Date.now() > e.until) {
      this.m.delete(key);
      return true;
    }
    return false;
  }
}

/** Pods are created in batches of this many at most per sync (upstream's burst). */
const BURST = 500;

/** The pods a ReplicaSet owns (controller owner reference) that are still active. */
export function ownedPods(rs: KubeObject, pods: KubeObject[]): KubeObject[] {
  const match = selectorMatcher(rs.spec?.selector ?? {});
  return pods.filter((p) => controllerUid(p) === rs.metadata.uid && isActive(p) && match(p.metadata.labels));
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
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: rs.metadata.name!,
          uid: rs.metadata.uid!,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
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
  const pods = ownedPods(rs, caches.podsIn(ns, rs.metadata.uid));
  const want = rs.spec?.replicas ?? 1;
  if (exp.satisfied(key)) {
    const diff = want - pods.length;
    if (diff > 0) {
      const n = Math.min(diff, BURST);
      exp.expect(key, n, 0);
      const results = await Promise.allSettled(
        Array.from({ length: n }, () => act.createPod(ns, podFromTemplate(rs))),
      );
      for (const r of results) {
        if (r.status === 'rejected') exp.observed(key, 'add');
        else
          act.event?.(
            rs,
            'Normal',
            'SuccessfulCreate',
            `Created pod: ${(r.value as KubeObject)?.metadata?.name ?? ''}`,
          );
      }
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) {
        const why = (failed as PromiseRejectedResult).reason as Error;
        act.event?.(rs, 'Warning', 'FailedCreate', `Error creating: ${why?.message ?? String(why)}`);
        throw why;
      }
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
    const q = new WorkQueue(
      (key) =>
        syncReplicaSet(
          key,
          {
            getReplicaSet: (k) => replicasets.get(k),
            podsIn: (ns, uid) => (uid ? ownedBy(pods, uid) : inNamespace(pods, ns)),
          },
          {
            createPod: (ns, pod) => ctx.client.create(Resources.pods, ns, pod),
            deletePod: (ns, name) => ctx.client.delete(Resources.pods, ns, name),
            updateStatus: (rs) => ctx.client.updateStatus(Resources.replicasets, rs),
            requeueAfter: (k, ms) => q.checkAfter(k, ms),
            event: (o, type, reason, message) =>
              recordEvent(
                ctx.client,
                { ...o, apiVersion: 'apps/v1', kind: 'ReplicaSet' },
                type,
                reason,
                message,
                'replicaset-controller',
              ),
          },
          exp,
        ),
      4,
    );
    const rsKeyOfPod = (p: KubeObject) => {
      const uid = controllerUid(p);
      if (!uid) return undefined;
      const owner = p.metadata.ownerReferences?.find((o) => o.uid === uid && o.kind === 'ReplicaSet');
      return owner ? `${p.metadata.namespace}/${owner.name}` : undefined;
    };
    replicasets.onAdd((rs) => q.add(keyOf(rs))).onUpdate((rs) => q.add(keyOf(rs)));
    pods
      .onAdd((p) => {
        const k = rsKeyOfPod(p);
        if (k) {
          exp.observed(k, 'add');
          q.add(k);
        }
      })
      .onUpdate((p) => {
        const k = rsKeyOfPod(p);
        if (k) q.add(k);
      })
      .onDelete((p) => {
        const k = rsKeyOfPod(p);
        if (k) {
          exp.observed(k, 'del');
          q.add(k);
        }
      });
    ctx.onStop(() => q.stop());
  },
};
