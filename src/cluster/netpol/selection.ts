/**
 * The pods and namespaces a policy's selectors pick: the pods a policy applies to (its
 * namespace, its podSelector) and the pods a peer names (podSelector in the policy's
 * namespace, namespaceSelector alone for every pod of the matching namespaces, or both).
 * Only pods with an address on the pod network count: host-network pods share their node's
 * address and policies do not apply to them, and finished pods may have given theirs away.
 */
import { arr, type Obj } from '../api/field-values.js';
import { selectorMatcher } from '../api/selectors.js';
import type { KubeObject } from '../client/kube-client.js';
import type { LabelSelector, PolicyPeer, Protocol } from './policy.js';

export interface PodInfo {
  namespace: string;
  name: string;
  ip: string;
  nodeName: string;
  labels: Record<string, string>;
  /** The pod's containerPorts, for named ports. */
  ports: { name: string; protocol: Protocol; port: number }[];
}

export interface NamespaceInfo {
  name: string;
  labels: Record<string, string>;
}

/** A pod as policies see it, or undefined when policies neither select it nor name it as a peer. */
export function readPod(o: KubeObject): PodInfo | undefined {
  const spec = (o.spec ?? {}) as Obj;
  const status = (o.status ?? {}) as Obj;
  const ip = typeof status.podIP === 'string' ? status.podIP : '';
  if (!ip || spec.hostNetwork === true) return undefined;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return undefined;
  const ports: PodInfo['ports'] = [];
  for (const c of [...arr(spec.initContainers), ...arr(spec.containers)])
    for (const p of arr(c.ports))
      if (typeof p.name === 'string' && typeof p.containerPort === 'number')
        ports.push({
          name: p.name,
          protocol: String(p.protocol ?? 'TCP').toLowerCase() as Protocol,
          port: p.containerPort,
        });
  return {
    namespace: o.metadata?.namespace ?? 'default',
    name: o.metadata?.name ?? '',
    ip,
    nodeName: typeof spec.nodeName === 'string' ? spec.nodeName : '',
    labels: o.metadata?.labels ?? {},
    ports,
  };
}

/**
 * A namespace's labels, with `kubernetes.io/metadata.name` as upstream's API server sets it on
 * every namespace (so a namespaceSelector on a namespace's name works wherever it was made).
 */
export function readNamespace(o: KubeObject): NamespaceInfo {
  const name = o.metadata?.name ?? '';
  return { name, labels: { ...o.metadata?.labels, 'kubernetes.io/metadata.name': name } };
}

/** The port number a named port has in `pod` for `protocol`, if it declares one. */
export function namedPort(pod: PodInfo, name: string, protocol: Protocol): number | undefined {
  return pod.ports.find((p) => p.name === name && p.protocol === protocol)?.port;
}

/** Selector matching, parsed once per selector (policies are re-read on every change). */
export class Selection {
  private readonly matchers = new WeakMap<LabelSelector, (l: Record<string, string>) => boolean>();
  private readonly nsLabels: Map<string, Record<string, string>>;

  constructor(
    readonly pods: readonly PodInfo[],
    namespaces: readonly NamespaceInfo[],
  ) {
    this.nsLabels = new Map(namespaces.map((n) => [n.name, n.labels]));
  }

  matches(sel: LabelSelector, labels: Record<string, string>): boolean {
    let m = this.matchers.get(sel);
    if (!m) {
      m = selectorMatcher(sel);
      this.matchers.set(sel, m);
    }
    return m(labels);
  }

  /** Whether a policy of `namespace` with `podSelector` applies to `pod`. */
  selects(namespace: string, podSelector: LabelSelector, pod: PodInfo): boolean {
    return pod.namespace === namespace && this.matches(podSelector, pod.labels);
  }

  /** The pods a peer without ipBlock names, for a policy in `namespace`. */
  peerPods(namespace: string, peer: PolicyPeer): PodInfo[] {
    const { podSelector, namespaceSelector } = peer;
    if (!podSelector && !namespaceSelector) return [];
    return this.pods.filter((p) => {
      if (namespaceSelector) {
        const labels = this.nsLabels.get(p.namespace);
        // A pod whose namespace is not known yet is not counted until it is.
        if (!labels || !this.matches(namespaceSelector, labels)) return false;
      } else if (p.namespace !== namespace) return false;
      return !podSelector || this.matches(podSelector, p.labels);
    });
  }
}
