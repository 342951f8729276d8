/**
 * Which pod goes first when the node runs short (the kubelet's rankMemoryPressure and
 * rankDiskPressureFunc): pods using more than they requested of the starved resource before
 * those within their requests, then lower priority first, then the larger use beyond the
 * request first. A pod whose use is unknown goes first, as upstream ranks it. BestEffort pods
 * request nothing, so any use is beyond their requests: they go before Guaranteed and
 * Burstable pods that stay within theirs.
 */
import type { KubeObject } from '../../client/kube-client.js';
import { parseQuantity } from '../../scheduler/quantity.js';

/** What a pod's containers use, in bytes, by container name. */
export interface PodUsage {
  containers: { name: string; memory?: number; disk?: number }[];
  /** Disk used by the pod's local volumes (emptyDir) beyond its containers. */
  volumesDisk?: number;
}

export type Starved = 'memory' | 'ephemeral-storage';

// biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
type SpecContainer = any;

/** A container's request of `resource` in bytes (0 when it asks for none). */
export const containerRequest = (c: SpecContainer, resource: Starved): number =>
  parseQuantity(c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource]);

/** The pod's request: its containers' sum, or its largest init container's if larger. */
export function podRequest(pod: KubeObject, resource: Starved): number {
  const sum = ((pod.spec?.containers ?? []) as SpecContainer[]).reduce(
    (n, c) => n + containerRequest(c, resource),
    0,
  );
  const init = ((pod.spec?.initContainers ?? []) as SpecContainer[]).map((c) =>
    containerRequest(c, resource),
  );
  return Math.max(sum, ...init);
}

export function podUse(u: PodUsage, resource: Starved): number {
  const key = resource === 'memory' ? 'memory' : 'disk';
  const containers = u.containers.reduce((n, c) => n + (c[key] ?? 0), 0);
  return resource === 'memory' ? containers : containers + (u.volumesDisk ?? 0);
}

/** The pods in eviction order for a shortage of `resource`. */
export function rankForEviction(
  pods: KubeObject[],
  usage: Map<string, PodUsage | undefined>,
  resource: Starved,
): KubeObject[] {
  const facts = new Map(
    pods.map((p) => {
      const u = usage.get(p.metadata.uid ?? '');
      const over = u ? podUse(u, resource) - podRequest(p, resource) : Number.POSITIVE_INFINITY;
      return [p, { known: !!u, exceeds: over > 0, over, priority: Number(p.spec?.priority ?? 0) }] as const;
    }),
  );
  return [...pods].sort((a, b) => {
    const x = facts.get(a)!;
    const y = facts.get(b)!;
    if (x.known !== y.known) return x.known ? 1 : -1;
    if (x.exceeds !== y.exceeds) return x.exceeds ? -1 : 1;
    if (x.priority !== y.priority) return x.priority - y.priority;
    return y.over - x.over;
  });
}
