/**
 * The DaemonSet controller: one pod per eligible node (its nodeSelector and required node
 * affinity match the node, and it tolerates the node's NoSchedule and NoExecute taints,
 * counting the tolerations every daemon pod gets, as upstream adds them). Pods are bound to
 * their node directly (spec.nodeName), as DaemonSets did before the scheduler placed them;
 * a node that joins gets one, a node that leaves or stops being eligible loses it.
 * RollingUpdate replaces old-revision pods at most maxUnavailable nodes at a time; OnDelete
 * leaves that to the user. Revisions are ControllerRevisions, for `kubectl rollout`.
 */
import { unlessNotFound } from '../../core/errors.js';
import { selectorMatcher } from '../api/selectors.js';
import { controllerRefOf } from '../client/controller-ref.js';
import { Expectations } from '../client/expectations.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import { createPods } from '../client/pod-control.js';
import { nodeAffinityMatches } from '../scheduler/node-affinity.js';
import { type ControllerSpec, ownedBy, ownerKey } from './context.js';
import { resolveIntOrPercent } from './deployment.js';
import { ensureRevision, type HistoryActions } from './history.js';
import { isPodReady } from './pods.js';
import { REVISION_LABEL } from './statefulset.js';

export interface DaemonSetCaches {
  getSet(key: string): KubeObject | undefined;
  nodes(): KubeObject[];
  podsOf(set: KubeObject): KubeObject[];
  revisionsOf(set: KubeObject): KubeObject[];
}

export interface DaemonSetActions extends HistoryActions {
  createPod(ns: string, pod: KubeObject): Promise<unknown>;
  deletePod(ns: string, name: string): Promise<unknown>;
  updateStatus(set: KubeObject): Promise<unknown>;
  event?(set: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

/** The tolerations upstream adds to every daemon pod, so daemons stay on troubled nodes. */
export const daemonTolerations: Toleration[] = [
  { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
  { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
];

/**
 * Does the pod template want this node (nodeSelector, required node affinity, taints)? With
 * `running`, for a pod already there: only NoExecute taints count (upstream leaves daemons in
 * place when a NoSchedule taint is added).
 */
export function eligible(template: KubeObject['spec'], node: KubeObject, running = false): boolean {
  const spec = template?.spec ?? {};
  if (!nodeAffinityMatches(spec, node)) return false;
  const tolerations = [...((spec.tolerations ?? []) as Toleration[]), ...daemonTolerations];
  for (const taint of (node.spec?.taints ?? []) as { key: string; value?: string; effect: string }[]) {
    if (taint.effect === 'PreferNoSchedule' || (running && taint.effect === 'NoSchedule')) continue;
    const tolerated = tolerations.some(
      (t) =>
        (!t.effect || t.effect === taint.effect) &&
        (t.operator === 'Exists'
          ? !t.key || t.key === taint.key
          : t.key === taint.key && (t.value ?? '') === (taint.value ?? '')),
    );
    if (!tolerated) return false;
  }
  return true;
}

function podFor(set: KubeObject, node: string, revision: string): KubeObject {
  const t = structuredClone(set.spec?.template ?? {});
  const spec = t.spec ?? {};
  spec.nodeName = node;
  const have = (spec.tolerations ?? []) as Toleration[];
  spec.tolerations = [
    ...have,
    ...daemonTolerations.filter((d) => !have.some((h) => h.key === d.key && h.effect === d.effect)),
  ];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${set.metadata.name}-`,
      namespace: set.metadata.namespace,
      labels: {
        ...(t.metadata?.labels ?? {}),
        [REVISION_LABEL]: revision,
        'pod-template-generation': String(set.metadata.generation ?? 1),
      },
      ...(t.metadata?.annotations ? { annotations: t.metadata.annotations } : {}),
      ownerReferences: [controllerRefOf(set, 'apps/v1', 'DaemonSet')],
    },
    spec,
  };
}

/** One level-triggered pass for a DaemonSet. */
export async function syncDaemonSet(
  key: string,
  caches: DaemonSetCaches,
  act: DaemonSetActions,
  exp: Expectations = new Expectations(),
): Promise<void> {
  const set = caches.getSet(key);
  if (!set || set.metadata.deletionTimestamp) return;
  const ns = set.metadata.namespace!;
  const match = selectorMatcher(set.spec?.selector ?? {});
  const pods = caches.podsOf(set).filter((p) => !p.metadata.deletionTimestamp && match(p.metadata.labels));
  const inUse = new Set(pods.map((p) => p.metadata.labels?.[REVISION_LABEL] ?? ''));
  const revision = await ensureRevision(set, 'DaemonSet', caches.revisionsOf(set), inUse, act);
  const nodes = caches.nodes();
  const byNode = new Map<string, KubeObject[]>();
  for (const p of pods) {
    const n = p.spec?.nodeName ?? '';
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const wanted = new Set(
    nodes
      .filter((n) => eligible(set.spec?.template, n, byNode.has(n.metadata.name!)))
      .map((n) => n.metadata.name!),
  );
  const del = async (p: KubeObject) => {
    await unlessNotFound(act.deletePod(ns, p.metadata.name!));
    act.event?.(set, 'Normal', 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`);
  };

  // Until the pods this controller just made show up in the cache, make no more (they have
  // generated names, so a second pass would otherwise make a second pod per node).
  const settled = exp.satisfied(key);
  const missing: string[] = [];
  for (const name of wanted) {
    const here = (byNode.get(name) ?? []).filter((p) => !['Failed', 'Succeeded'].includes(p.status?.phase));
    for (const p of byNode.get(name) ?? []) if (!here.includes(p)) await del(p); // finished: replace
    if (here.length === 0) missing.push(name);
    else if (settled)
      for (const extra of here
        .sort((a, b) =>
          String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)),
        )
        .slice(1))
        await del(extra);
  }
  if (settled && missing.length) {
    await createPods(
      key,
      exp,
      missing,
      (n) => act.createPod(ns, podFor(set, n, revision)),
      (c) =>
        act.event?.(
          set,
          'Normal',
          'SuccessfulCreate',
          `Created pod: ${(c as KubeObject)?.metadata?.name ?? ''}`,
        ),
    );
  }
  // Pods on nodes that are gone or no longer eligible.
  for (const [name, list] of byNode) if (!wanted.has(name)) for (const p of list) await del(p);

  const strategy = set.spec?.updateStrategy ?? {};
  const desired = wanted.size;
  if ((strategy.type ?? 'RollingUpdate') === 'RollingUpdate') {
    const maxUnavailable = Math.max(
      1,
      resolveIntOrPercent(strategy.rollingUpdate?.maxUnavailable, desired, true, '1'),
    );
    const onNodes = [...wanted].map((n) => (byNode.get(n) ?? [])[0]).filter((p): p is KubeObject => !!p);
    const unavailable = desired - onNodes.filter((p) => isPodReady(p)).length;
    let budget = maxUnavailable - unavailable;
    for (const p of onNodes) {
      if (budget <= 0) break;
      if (p.metadata.labels?.[REVISION_LABEL] === revision || !isPodReady(p)) continue;
      await del(p);
      budget--;
    }
  }

  const scheduled = [...wanted].filter((n) => (byNode.get(n) ?? []).length > 0);
  const first = (n: string) => (byNode.get(n) ?? [])[0]!;
  const ready = scheduled.filter((n) => isPodReady(first(n))).length;
  const status = {
    observedGeneration: set.metadata.generation ?? 1,
    desiredNumberScheduled: desired,
    currentNumberScheduled: scheduled.length,
    numberMisscheduled: [...byNode.keys()].filter((n) => !wanted.has(n)).length,
    numberReady: ready,
    numberAvailable: ready,
    numberUnavailable: desired - ready,
    updatedNumberScheduled: scheduled.filter((n) => first(n).metadata.labels?.[REVISION_LABEL] === revision)
      .length,
  };
  const cur = set.status ?? {};
  if (Object.entries(status).some(([k, v]) => (cur[k] ?? 0) !== v))
    await act.updateStatus({ ...set, status: { ...cur, ...status } });
}

export const daemonSetController: ControllerSpec = {
  name: 'daemonset',
  start(ctx) {
    const sets = ctx.informer(Resources.daemonsets);
    const nodes = ctx.informer(Resources.nodes);
    const pods = ctx.informer(Resources.pods);
    const revisions = ctx.informer(Resources.controllerrevisions);
    const exp = new Expectations();
    const q = ctx.queue(
      (key) =>
        syncDaemonSet(
          key,
          {
            getSet: (k) => sets.get(k),
            nodes: () => nodes.list(),
            podsOf: (s) => ownedBy(pods, s.metadata.uid!),
            revisionsOf: (s) => ownedBy(revisions, s.metadata.uid!),
          },
          {
            createPod: (ns, p) => ctx.client.create(Resources.pods, ns, p),
            deletePod: (ns, name) => ctx.client.delete(Resources.pods, ns, name),
            createRevision: (ns, r) => ctx.client.create(Resources.controllerrevisions, ns, r),
            updateRevision: (r) => ctx.client.update(Resources.controllerrevisions, r),
            deleteRevision: (ns, name) => ctx.client.delete(Resources.controllerrevisions, ns, name),
            updateStatus: (s) => ctx.client.updateStatus(Resources.daemonsets, s),
            event: (o, type, reason, message) =>
              ctx
                .recorder('daemonset-controller')
                .record({ ...o, apiVersion: 'apps/v1', kind: 'DaemonSet' }, type, reason, message),
          },
          exp,
        ),
      2,
    );
    sets
      .onAdd((s) => q.add(keyOf(s)))
      .onUpdate((s) => q.add(keyOf(s)))
      .onDelete((s) => exp.delete(keyOf(s)));
    // A node joining, leaving or changing can change every DaemonSet's set of nodes.
    const all = () => {
      for (const s of sets.list()) q.add(keyOf(s));
    };
    nodes
      .onAdd(all)
      .onDelete(all)
      .onUpdate((n, old) => {
        const changed =
          JSON.stringify(n.metadata.labels) !== JSON.stringify(old?.metadata.labels) ||
          JSON.stringify(n.spec?.taints) !== JSON.stringify(old?.spec?.taints);
        if (changed) all();
      });
    const ownerOf = (o: KubeObject) => ownerKey(o, 'DaemonSet');
    pods
      .onAdd((p) => {
        const k = ownerOf(p);
        if (k) {
          exp.observed(k, 'add');
          q.add(k);
        }
      })
      .onUpdate((p) => {
        const k = ownerOf(p);
        if (k) q.add(k);
      })
      .onDelete((p) => {
        const k = ownerOf(p);
        if (k) q.add(k);
      });
  },
};
