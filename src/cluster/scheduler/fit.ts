import type { KubeObject } from '../client/kube-client.js';
import { nodeAffinityMatches } from './node-affinity.js';
import { milliCpu, parseQuantity } from './quantity.js';

/** What a pod asks of a node. */
export interface Request {
  cpu: number;
  memory: number;
}

export function podRequest(pod: KubeObject): Request {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += milliCpu(c.resources?.requests?.cpu);
    memory += parseQuantity(c.resources?.requests?.memory);
  }
  return { cpu, memory };
}

/** A node as the scheduler keeps it: what it offers and what bound pods already take. */
export interface NodeInfo {
  node: KubeObject;
  allocCpu: number;
  allocMemory: number;
  allocPods: number;
  usedCpu: number;
  usedMemory: number;
  pods: number;
  /** Pods per owner uid on this node, for spreading replicas. */
  byOwner: Map<string, number>;
  /** Host ports taken on this node (`TCP/8080`), with how many pods hold each. */
  hostPorts: Map<string, number>;
  /** Its Ready condition is True (read once per node update, not once per pod and node). */
  ready: boolean;
}

/** The host ports a pod asks for (`TCP/8080`). */
export function podHostPorts(pod: KubeObject): string[] {
  const out: string[] = [];
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])])
    for (const p of c.ports ?? []) if (p.hostPort) out.push(`${p.protocol ?? 'TCP'}/${p.hostPort}`);
  return out;
}

export function nodeInfo(node: KubeObject): NodeInfo {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    node,
    allocCpu: milliCpu(a.cpu ?? '0'),
    allocMemory: parseQuantity(a.memory ?? '0'),
    allocPods: Number(a.pods ?? 110),
    usedCpu: 0,
    usedMemory: 0,
    pods: 0,
    byOwner: new Map(),
    hostPorts: new Map(),
    ready: (node.status?.conditions ?? []).some(
      (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
    ),
  };
}

function tolerates(pod: KubeObject, taint: { key: string; value?: string; effect: string }): boolean {
  return (pod.spec?.tolerations ?? []).some(
    (t: { key?: string; operator?: string; value?: string; effect?: string }) =>
      (!t.effect || t.effect === taint.effect) &&
      ((t.operator === 'Exists' && (!t.key || t.key === taint.key)) ||
        (t.key === taint.key && (t.value ?? '') === (taint.value ?? ''))),
  );
}

/** Why a node cannot take a pod (kube-scheduler's reason strings), or undefined if it can. */
export function unfitReason(
  pod: KubeObject,
  n: NodeInfo,
  req: Request,
  ports: readonly string[] = podHostPorts(pod),
): string | undefined {
  const node = n.node;
  if (pod.spec?.nodeName && pod.spec.nodeName !== node.metadata.name)
    return "node(s) didn't match the requested node name";
  if (node.spec?.unschedulable) return 'node(s) were unschedulable';
  for (const t of node.spec?.taints ?? []) {
    if ((t.effect === 'NoSchedule' || t.effect === 'NoExecute') && !tolerates(pod, t))
      return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
  }
  if (!nodeAffinityMatches(pod.spec, node)) return "node(s) didn't match Pod's node affinity/selector";
  if (ports.some((hp) => (n.hostPorts.get(hp) ?? 0) > 0))
    return "node(s) didn't have free ports for the requested pod ports";
  if (n.pods + 1 > n.allocPods) return 'Too many pods';
  if (n.usedCpu + req.cpu > n.allocCpu) return 'Insufficient cpu';
  if (n.usedMemory + req.memory > n.allocMemory) return 'Insufficient memory';
  return undefined;
}

/** Higher is better: balance (least allocated) and spread replicas of one owner across nodes. */
export function score(n: NodeInfo, req: Request, owner: string | undefined): number {
  const cpu = n.allocCpu ? (n.usedCpu + req.cpu) / n.allocCpu : 1;
  const mem = n.allocMemory ? (n.usedMemory + req.memory) / n.allocMemory : 1;
  const spread = owner ? (n.byOwner.get(owner) ?? 0) : 0;
  return 100 * (1 - (cpu + mem) / 2) - 10 * spread - n.pods * 0.01;
}

/** kube-scheduler's summary: `0/3 nodes are available: 2 Insufficient cpu, 1 node(s) were unschedulable.` */
export function unschedulableMessage(total: number, reasons: Map<string, number>): string {
  const parts = [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([r, n]) => `${n} ${r}`);
  return `0/${total} nodes are available: ${parts.join(', ')}.`;
}
