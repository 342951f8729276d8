/**
 * Node lifecycle (after kube-controller-manager's nodelifecycle and taint-eviction
 * controllers). A node's heartbeat is when this controller last saw its Lease
 * (kube-node-lease) renewed or its Ready condition's lastHeartbeatTime change, by its own
 * clock (HeartbeatObserver). Older than the grace period: its conditions
 * become Unknown ("Kubelet stopped posting node status."), it gets the
 * `node.kubernetes.io/unreachable` NoSchedule and NoExecute taints (`not-ready` when the node
 * itself reports Ready=False), and its pods are marked not Ready. Back in time: the taints
 * go. Pods on a node with a NoExecute taint they do not tolerate are deleted at once; those
 * that tolerate it for tolerationSeconds are deleted when that time has passed since the
 * taint was added (every pod gets such a toleration from the API server, 30 s by default),
 * and their controllers replace them on healthy nodes.
 */
import { unlessNotFound } from '../../core/errors.js';
import { metaTime } from '../api/meta-time.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

export const UNREACHABLE = 'node.kubernetes.io/unreachable';
export const NOT_READY = 'node.kubernetes.io/not-ready';

interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}
interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/**
 * When each node's heartbeat last moved, by this controller's own clock (Kubernetes'
 * `nodeHealthMap` probe timestamps): a renewal counts when the Lease's renewTime or the Ready
 * condition's lastHeartbeatTime differs from what was seen before, whatever time it names.
 * The first look counts as a renewal, so a restarted control plane gives every node a full
 * grace period instead of judging a Lease by a renewTime written before the restart, and a
 * skewed clock on the node side changes nothing.
 */
export class HeartbeatObserver {
  private readonly seen = new Map<string, { lease: string; status: string; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The local time (ms) at which `node`'s heartbeat was last seen to move. */
  observe(node: KubeObject, lease: KubeObject | undefined): number {
    const name = node.metadata.name!;
    const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
    const leaseStamp = String(lease?.spec?.renewTime ?? '');
    const statusStamp = String(ready?.lastHeartbeatTime ?? '');
    const prev = this.seen.get(name);
    const moved =
      !prev ||
      (leaseStamp !== '' && leaseStamp !== prev.lease) ||
      (statusStamp !== '' && statusStamp !== prev.status);
    if (!moved) return prev.at;
    const at = this.now();
    this.seen.set(name, { lease: leaseStamp, status: statusStamp, at });
    return at;
  }

  forget(name: string): void {
    this.seen.delete(name);
  }
}

/** The taints the node should carry for its health, given its Ready status. */
export function healthTaints(readyStatus: string | undefined, existing: Taint[], now: number): Taint[] {
  const key = readyStatus === 'Unknown' ? UNREACHABLE : readyStatus === 'False' ? NOT_READY : undefined;
  const others = existing.filter((t) => t.key !== UNREACHABLE && t.key !== NOT_READY);
  if (!key) return others;
  const keep = (effect: string) =>
    existing.find((t) => t.key === key && t.effect === effect) ?? {
      key,
      effect,
      ...(effect === 'NoExecute' ? { timeAdded: metaTime(now) } : {}),
    };
  return [...others, keep('NoSchedule'), keep('NoExecute')];
}

/** The NoSchedule taint each pressure condition gives a node while True (TaintNodesByCondition). */
export const pressureTaintKeys: Readonly<Record<string, string>> = {
  MemoryPressure: 'node.kubernetes.io/memory-pressure',
  DiskPressure: 'node.kubernetes.io/disk-pressure',
  PIDPressure: 'node.kubernetes.io/pid-pressure',
  NetworkUnavailable: 'node.kubernetes.io/network-unavailable',
};

/** `existing` with the pressure taints the node's conditions call for, and no others. */
export function pressureTaints(conditions: { type: string; status: string }[], existing: Taint[]): Taint[] {
  const keys = Object.values(pressureTaintKeys);
  const want = new Set(
    conditions
      .filter((c) => c.status === 'True' && pressureTaintKeys[c.type])
      .map((c) => pressureTaintKeys[c.type]!),
  );
  const kept = existing.filter(
    (t) => !keys.includes(t.key) || (want.has(t.key) && t.effect === 'NoSchedule'),
  );
  for (const key of want) if (!kept.some((t) => t.key === key)) kept.push({ key, effect: 'NoSchedule' });
  return kept;
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/**
 * When a pod on a node with these taints must go: 0 for now, a time (ms) for later, or
 * undefined for never (it tolerates every NoExecute taint without a time limit).
 */
export function evictionTime(pod: KubeObject, taints: Taint[], now: number): number | undefined {
  let when: number | undefined;
  for (const taint of taints) {
    if (taint.effect !== 'NoExecute') continue;
    const tol = ((pod.spec?.tolerations ?? []) as Toleration[]).filter((t) => tolerates(t, taint));
    if (tol.length === 0) return 0;
    const secs = tol.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === 'number');
    if (secs.length < tol.length) continue; // one toleration without a limit: stays
    const added = Date.parse(taint.timeAdded ?? '') || now;
    const at = added + Math.max(0, Math.min(...secs)) * 1000;
    when = when === undefined ? at : Math.min(when, at);
  }
  return when;
}

export const nodeLifecycleController: ControllerSpec = {
  name: 'nodelifecycle',
  start(ctx) {
    const grace = ctx.options.nodeMonitorGracePeriodMs ?? 20_000;
    const nodes = ctx.informer(Resources.nodes);
    const leases = ctx.informer(Resources.leases);
    const pods = ctx.informer(Resources.pods);
    pods.addIndex('node', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
    const event = (
      o: KubeObject,
      kind: string,
      apiVersion: string,
      type: 'Normal' | 'Warning',
      reason: string,
      msg: string,
    ) => ctx.recorder('node-controller').record({ ...o, kind, apiVersion }, type, reason, msg);

    const heartbeats = new HeartbeatObserver();
    // Health: one pass per node, queued by the monitor tick and by node changes.
    const health = ctx.queue(async (name) => {
      const node = nodes.get(name);
      if (!node) return;
      const now = Date.now();
      const beat = heartbeats.observe(node, leases.get(`kube-node-lease/${name}`));
      const conditions = (node.status?.conditions ?? []) as {
        type: string;
        status: string;
        reason?: string;
      }[];
      const ready = conditions.find((c) => c.type === 'Ready');
      if (now - beat > grace && ready?.status !== 'Unknown') {
        const t = metaTime(now);
        await ctx.client.patchStatus(Resources.nodes, undefined, name, {
          status: {
            conditions: conditions.map((c) => ({
              type: c.type,
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status.',
              lastTransitionTime: t,
            })),
          },
        });
        event(node, 'Node', 'v1', 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
        // Its pods are no longer Ready: Services stop sending them traffic.
        for (const p of pods.byIndex('node', name)) {
          if (p.status?.phase !== 'Running') continue;
          await unlessNotFound(
            ctx.client.patchStatus(Resources.pods, p.metadata.namespace, p.metadata.name!, {
              status: { conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: t }] },
            }),
          );
        }
        return; // the update comes back through the informer; taints follow then
      }
      const want = pressureTaints(
        conditions,
        healthTaints(ready?.status, (node.spec?.taints ?? []) as Taint[], now),
      );
      if (JSON.stringify(want) !== JSON.stringify(node.spec?.taints ?? []))
        await ctx.client.patch(Resources.nodes, undefined, name, {
          metadata: { resourceVersion: node.metadata.resourceVersion },
          spec: { taints: want.length ? want : null },
        });
    }, 4);

    // Eviction: one pass per pod on a NoExecute-tainted node.
    const evict = ctx.queue(async (key) => {
      const pod = pods.get(key);
      if (!pod || pod.metadata.deletionTimestamp || !pod.spec?.nodeName) return;
      const node = nodes.get(pod.spec.nodeName);
      if (!node) return;
      const now = Date.now();
      const at = evictionTime(pod, (node.spec?.taints ?? []) as Taint[], now);
      if (at === undefined) return;
      if (at > now) {
        evict.checkAfter(key, at - now + 10);
        return;
      }
      event(pod, 'Pod', 'v1', 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
      await unlessNotFound(
        ctx.client.delete(Resources.pods, pod.metadata.namespace, pod.metadata.name!, {
          uid: pod.metadata.uid,
        }),
      );
    }, 8);
    const podsOfNode = (name: string) => {
      for (const p of pods.byIndex('node', name)) evict.add(`${p.metadata.namespace}/${p.metadata.name}`);
    };
    const hasNoExecute = (n: KubeObject) =>
      ((n.spec?.taints ?? []) as Taint[]).some((t) => t.effect === 'NoExecute');
    nodes
      .onAdd((n) => {
        // Upstream's monitor says so of each node it comes to know, again after a restart.
        const name = n.metadata.name!;
        event(
          n,
          'Node',
          'v1',
          'Normal',
          'RegisteredNode',
          `Node ${name} event: Registered Node ${name} in Controller`,
        );
        health.add(name);
        if (hasNoExecute(n)) podsOfNode(n.metadata.name!);
      })
      .onUpdate((n) => {
        health.add(n.metadata.name!);
        if (hasNoExecute(n)) podsOfNode(n.metadata.name!);
      })
      .onDelete((n) => heartbeats.forget(n.metadata.name!));
    const onPod = (p: KubeObject) => {
      const n = p.spec?.nodeName ? nodes.get(p.spec.nodeName) : undefined;
      if (n && hasNoExecute(n)) evict.add(`${p.metadata.namespace}/${p.metadata.name}`);
    };
    pods.onAdd(onPod).onUpdate(onPod);
    // The monitor: heartbeats age without any event, so look at every node regularly.
    const tick = setInterval(
      () => {
        for (const n of nodes.list()) health.add(n.metadata.name!);
      },
      Math.max(500, Math.min(5000, grace / 4)),
    );
    tick.unref();
    ctx.onStop(() => {
      clearInterval(tick);
      health.stop();
      evict.stop();
    });
  },
};
