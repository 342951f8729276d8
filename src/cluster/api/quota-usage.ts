/**
 * What an object costs against a ResourceQuota (Kubernetes' quota evaluators): object counts
 * (`pods`, `count/deployments.apps`...), compute requests and limits of pods, storage of
 * claims, node ports and load balancers of Services. Shared by quota admission, which charges
 * one object's cost, and the resource-quota controller, which sums the real objects.
 */
import { formatQuantity, parseQuantity } from '../scheduler/quantity.js';
import type { KubeObject } from './selectors.js';

/** Resource name to amount (CPU in cores, memory and storage in bytes, counts in units). */
export type Usage = Record<string, number>;

/** The short count names Kubernetes keeps for core kinds, besides `count/<plural>`. */
const legacyCounts: Record<string, string> = {
  pods: 'pods',
  services: 'services',
  configmaps: 'configmaps',
  secrets: 'secrets',
  persistentvolumeclaims: 'persistentvolumeclaims',
  replicationcontrollers: 'replicationcontrollers',
  resourcequotas: 'resourcequotas',
};

/** The `count/...` name of a resource: `count/pods`, `count/deployments.apps`. */
export const countName = (group: string, plural: string): string =>
  `count/${plural}${group ? `.${group}` : ''}`;

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };
type Container = { name?: string; resources?: Resources };
type PodSpec = { containers?: Container[]; initContainers?: Container[]; overhead?: Record<string, string> };

/** Whether a pod has finished (its resources are free again). */
export const isTerminalPod = (p: KubeObject): boolean => {
  const phase = (p.status as { phase?: string } | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
};

/**
 * The pod's effective requests or limits: the larger of the containers' sum and any one init
 * container (init containers run one at a time, before the others), plus the overhead.
 */
export function podResources(spec: PodSpec, kind: 'requests' | 'limits'): Usage {
  const out: Usage = {};
  for (const c of spec.containers ?? [])
    for (const [k, v] of Object.entries(c.resources?.[kind] ?? {})) out[k] = (out[k] ?? 0) + parseQuantity(v);
  for (const c of spec.initContainers ?? [])
    for (const [k, v] of Object.entries(c.resources?.[kind] ?? {}))
      out[k] = Math.max(out[k] ?? 0, parseQuantity(v));
  for (const [k, v] of Object.entries(spec.overhead ?? {})) out[k] = (out[k] ?? 0) + parseQuantity(v);
  return out;
}

/** The usage one object of `group`/`plural` adds. A finished pod costs nothing. */
export function usageOf(group: string, plural: string, o: KubeObject): Usage {
  const u: Usage = { [countName(group, plural)]: 1 };
  if (group) return u;
  const legacy = legacyCounts[plural];
  if (legacy) u[legacy] = 1;
  if (plural === 'pods') {
    if (isTerminalPod(o)) return {};
    const spec = (o.spec ?? {}) as PodSpec;
    for (const [k, v] of Object.entries(podResources(spec, 'requests'))) {
      u[`requests.${k}`] = v;
      if (k === 'cpu' || k === 'memory' || k === 'ephemeral-storage') u[k] = v;
    }
    for (const [k, v] of Object.entries(podResources(spec, 'limits'))) u[`limits.${k}`] = v;
  } else if (plural === 'services') {
    const spec = (o.spec ?? {}) as { type?: string; ports?: { nodePort?: number }[] };
    if (spec.type === 'NodePort' || spec.type === 'LoadBalancer')
      u['services.nodeports'] = (spec.ports ?? []).length;
    if (spec.type === 'LoadBalancer') u['services.loadbalancers'] = 1;
  } else if (plural === 'persistentvolumeclaims') {
    const spec = (o.spec ?? {}) as { resources?: Resources; storageClassName?: string };
    const storage = parseQuantity(spec.resources?.requests?.storage);
    u['requests.storage'] = storage;
    if (spec.storageClassName) {
      const cls = `${spec.storageClassName}.storageclass.storage.k8s.io`;
      u[`${cls}/requests.storage`] = storage;
      u[`${cls}/persistentvolumeclaims`] = 1;
    }
  }
  return u;
}

/** Adds `b` into `a` (in place) and returns `a`. */
export function addUsage(a: Usage, b: Usage): Usage {
  for (const [k, v] of Object.entries(b)) a[k] = (a[k] ?? 0) + v;
  return a;
}

/** Parses a `hard` or `used` map of quantities. */
export function parseUsage(m: Record<string, string> | undefined): Usage {
  const out: Usage = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = parseQuantity(v);
  return out;
}

/** Formats usage for a quota's status, keeping only the names in `hard`. */
export function formatUsage(u: Usage, hard: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(hard).sort()) out[k] = formatQuantity(u[k] ?? 0);
  return out;
}

/**
 * The resources a quota on `hard` needs to list to compute its usage: the plural names
 * (with group) of every kind a hard name counts or measures.
 */
export function resourcesFor(hard: Record<string, unknown>): { group: string; plural: string }[] {
  const out = new Map<string, { group: string; plural: string }>();
  const add = (group: string, plural: string) => out.set(`${plural}.${group}`, { group, plural });
  for (const name of Object.keys(hard)) {
    if (name.startsWith('count/')) {
      const rest = name.slice('count/'.length);
      const dot = rest.indexOf('.');
      add(dot < 0 ? '' : rest.slice(dot + 1), dot < 0 ? rest : rest.slice(0, dot));
    } else if (legacyCounts[name]) add('', name);
    else if (name.startsWith('services.')) add('', 'services');
    else if (name === 'requests.storage' || name.includes('.storageclass.storage.k8s.io/'))
      add('', 'persistentvolumeclaims');
    else add('', 'pods');
  }
  return [...out.values()];
}

type ScopeRequirement = { scopeName?: string; operator?: string; values?: string[] };
/** A ResourceQuota's scopes: the `scopes` list and `scopeSelector.matchExpressions`. */
export type QuotaScopes = { scopes?: string[]; scopeSelector?: { matchExpressions?: ScopeRequirement[] } };

/** Whether a pod falls in one scope (upstream's scope evaluators for pods). */
function podInScope(pod: KubeObject, scope: string, operator = 'Exists', values: string[] = []): boolean {
  const spec = (pod.spec ?? {}) as PodSpec & { activeDeadlineSeconds?: number; priorityClassName?: string };
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  switch (scope) {
    case 'Terminating':
      return spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds >= 0;
    case 'NotTerminating':
      return !(spec.activeDeadlineSeconds !== undefined && spec.activeDeadlineSeconds >= 0);
    case 'BestEffort':
    case 'NotBestEffort': {
      const best = containers.every(
        (c) =>
          !Object.keys(c.resources?.requests ?? {}).length && !Object.keys(c.resources?.limits ?? {}).length,
      );
      return scope === 'BestEffort' ? best : !best;
    }
    case 'PriorityClass': {
      const name = spec.priorityClassName;
      if (operator === 'Exists') return !!name;
      if (operator === 'DoesNotExist') return !name;
      if (operator === 'In') return !!name && values.includes(name);
      if (operator === 'NotIn') return !name || !values.includes(name);
      return false;
    }
    default:
      return false;
  }
}

/**
 * Whether a quota with these scopes tracks the object: an unscoped quota tracks everything;
 * a scoped one only pods, and only those in every scope it names.
 */
export function inQuotaScope(q: QuotaScopes, group: string, plural: string, o: KubeObject): boolean {
  const reqs: ScopeRequirement[] = [
    ...(q.scopes ?? []).map((scopeName) => ({ scopeName })),
    ...(q.scopeSelector?.matchExpressions ?? []),
  ];
  if (!reqs.length) return true;
  if (group || plural !== 'pods') return false;
  return reqs.every((r) => podInScope(o, r.scopeName ?? '', r.operator, r.values));
}
