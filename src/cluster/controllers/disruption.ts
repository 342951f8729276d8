/**
 * The disruption controller: keeps every PodDisruptionBudget's status (expectedPods,
 * desiredHealthy, currentHealthy, disruptionsAllowed, disruptedPods, the DisruptionAllowed
 * condition) in step with the pods it selects, so the eviction subresource can decide from
 * the status alone. Percentages and maxUnavailable count against the replicas the pods'
 * controllers want (a Deployment through its ReplicaSet, a StatefulSet, a ReplicaSet), as
 * upstream's `getExpectedPodCount` does.
 */
import { transitionTime } from '../api/condition-time.js';
import { DISRUPTED_POD_TIMEOUT_MS, pdbSelects } from '../api/disruption-budget.js';
import { isPercent, scaledValue } from '../api/int-or-percent.js';
import { metaTime } from '../api/meta-time.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { type ControllerSpec, inNamespace } from './context.js';
import { isPodReady } from './pods.js';

/** A pod's controller as the budget sees it: its uid and the replicas it wants. */
export interface PodController {
  uid: string;
  replicas: number;
}

export interface DisruptionCaches {
  getPdb(key: string): KubeObject | undefined;
  podsIn(namespace: string): KubeObject[];
  /** The top controller with a scale of the pod (Deployment over ReplicaSet), or undefined. */
  controllerOf(pod: KubeObject): PodController | undefined;
}

export interface DisruptionActions {
  updateStatus(pdb: KubeObject): Promise<unknown>;
  requeueAfter?(key: string, ms: number): void;
  event?(pdb: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

type Condition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
};

/**
 * The status a budget should have for these pods at `now`, and when the oldest recorded
 * eviction expires (for a requeue), or a problem to report instead (a percentage over pods
 * without a controller).
 */
export function computeStatus(
  pdb: KubeObject,
  pods: readonly KubeObject[],
  controllerOf: (p: KubeObject) => PodController | undefined,
  now: number,
): { status: Record<string, unknown>; recheckInMs?: number; problem?: string } {
  const spec = pdb.spec ?? {};
  const mine = pods.filter((p) => pdbSelects(pdb, p));
  let expected = mine.length;
  let desired = 0;
  let problem: string | undefined;
  const needsScale = spec.maxUnavailable !== undefined || isPercent(spec.minAvailable);
  if (needsScale) {
    const seen = new Map<string, number>();
    for (const p of mine) {
      const c = controllerOf(p);
      if (!c) {
        problem = `found no controllers for pod "${p.metadata.name}"`;
        break;
      }
      seen.set(c.uid, c.replicas);
    }
    expected = [...seen.values()].reduce((a, b) => a + b, 0);
  }
  if (spec.maxUnavailable !== undefined)
    desired = Math.max(0, expected - scaledValue(spec.maxUnavailable, expected, true));
  else if (spec.minAvailable !== undefined) desired = scaledValue(spec.minAvailable, expected, true);
  // Evictions granted in the last two minutes count against the budget until the pod is gone.
  const disrupted: Record<string, string> = {};
  let recheckInMs: number | undefined;
  const byName = new Map(mine.map((p) => [p.metadata.name, p]));
  for (const [name, at] of Object.entries((pdb.status?.disruptedPods ?? {}) as Record<string, string>)) {
    const p = byName.get(name);
    const left = Date.parse(at) + DISRUPTED_POD_TIMEOUT_MS - now;
    if (!p || p.metadata.deletionTimestamp || left <= 0) continue;
    disrupted[name] = at;
    recheckInMs = Math.min(recheckInMs ?? left, left);
  }
  const healthy = mine.filter(
    (p) => isPodReady(p) && !p.metadata.deletionTimestamp && !(p.metadata.name! in disrupted),
  ).length;
  const allowed = problem ? 0 : Math.max(0, healthy - desired);
  const old = ((pdb.status?.conditions ?? []) as Condition[]).find((c) => c.type === 'DisruptionAllowed');
  const condStatus = allowed > 0 ? 'True' : 'False';
  const reason = problem ? 'SyncFailed' : allowed > 0 ? 'SufficientPods' : 'InsufficientPods';
  const condition: Condition = {
    type: 'DisruptionAllowed',
    status: condStatus,
    reason,
    message: problem ?? '',
    observedGeneration: pdb.metadata.generation ?? 1,
    lastTransitionTime: transitionTime(old, condStatus, metaTime(now)),
  };
  return {
    status: {
      observedGeneration: pdb.metadata.generation ?? 1,
      ...(Object.keys(disrupted).length ? { disruptedPods: disrupted } : {}),
      disruptionsAllowed: allowed,
      currentHealthy: healthy,
      desiredHealthy: desired,
      expectedPods: expected,
      conditions: [condition],
    },
    ...(recheckInMs !== undefined ? { recheckInMs } : {}),
    ...(problem ? { problem } : {}),
  };
}

const comparable = (s: Record<string, unknown>) =>
  JSON.stringify({
    ...s,
    conditions: ((s.conditions ?? []) as Condition[]).map(({ lastTransitionTime: _, ...c }) => c),
  });

export async function syncPdb(key: string, caches: DisruptionCaches, act: DisruptionActions): Promise<void> {
  const pdb = caches.getPdb(key);
  if (!pdb || pdb.metadata.deletionTimestamp) return;
  const { status, recheckInMs, problem } = computeStatus(
    pdb,
    caches.podsIn(pdb.metadata.namespace!),
    (p) => caches.controllerOf(p),
    Date.now(),
  );
  if (problem)
    act.event?.(
      pdb,
      'Warning',
      'CalculateExpectedPodCountFailed',
      `Failed to calculate the number of expected pods: ${problem}`,
    );
  if (recheckInMs !== undefined) act.requeueAfter?.(key, recheckInMs + 10);
  if (comparable(status) === comparable(pdb.status ?? {})) return;
  await act.updateStatus({ ...pdb, status });
}

export const disruptionController: ControllerSpec = {
  name: 'disruption',
  start(ctx) {
    const pdbs = ctx.informer(Resources.poddisruptionbudgets);
    const pods = ctx.informer(Resources.pods);
    const replicasets = ctx.informer(Resources.replicasets);
    const deployments = ctx.informer(Resources.deployments);
    const statefulsets = ctx.informer(Resources.statefulsets);
    const workloads: Record<string, typeof replicasets> = {
      ReplicaSet: replicasets,
      Deployment: deployments,
      StatefulSet: statefulsets,
    };
    /** The controlling owner of `o` among the workloads, with the kind its reference names. */
    const ownerOf = (o: KubeObject): { kind: string; obj: KubeObject } | undefined => {
      const ref = o.metadata.ownerReferences?.find((r) => r.controller);
      const owner = ref && workloads[ref.kind]?.get(`${o.metadata.namespace}/${ref.name}`);
      return owner && owner.metadata.uid === ref.uid ? { kind: ref.kind, obj: owner } : undefined;
    };
    const controllerOf = (p: KubeObject): PodController | undefined => {
      let c = ownerOf(p);
      // A Deployment's ReplicaSets come and go in a rollout; the Deployment's replicas are the count.
      if (c?.kind === 'ReplicaSet') c = ownerOf(c.obj) ?? c;
      return c ? { uid: c.obj.metadata.uid!, replicas: c.obj.spec?.replicas ?? 1 } : undefined;
    };
    const q = ctx.queue(
      (key) =>
        syncPdb(
          key,
          { getPdb: (k) => pdbs.get(k), podsIn: (ns) => inNamespace(pods, ns), controllerOf },
          {
            updateStatus: (pdb) => ctx.client.updateStatus(Resources.poddisruptionbudgets, pdb),
            requeueAfter: (k, ms) => q.checkAfter(k, ms),
            event: (o, type, reason, message) =>
              ctx
                .recorder('controllermanager')
                .record(
                  { ...o, apiVersion: 'policy/v1', kind: 'PodDisruptionBudget' },
                  type,
                  reason,
                  message,
                ),
          },
        ),
      2,
    );
    const budgetsOf = (p: KubeObject) => {
      for (const pdb of inNamespace(pdbs, p.metadata.namespace!)) if (pdbSelects(pdb, p)) q.add(keyOf(pdb));
    };
    pdbs.onAdd((o) => q.add(keyOf(o))).onUpdate((o) => q.add(keyOf(o)));
    pods
      .onAdd(budgetsOf)
      .onUpdate((p, old) => {
        budgetsOf(p);
        if (old) budgetsOf(old);
      })
      .onDelete(budgetsOf);
    // A scale change moves expectedPods and desiredHealthy of budgets over percentages.
    const workloadChanged = (w: KubeObject) => {
      for (const pdb of inNamespace(pdbs, w.metadata.namespace!)) q.add(keyOf(pdb));
    };
    for (const inf of [deployments, statefulsets, replicasets]) inf.onUpdate(workloadChanged);
  },
};
