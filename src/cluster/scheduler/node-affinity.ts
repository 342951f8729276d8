/**
 * Node affinity as kube-scheduler reads it: label requirements (In, NotIn, Exists,
 * DoesNotExist, Gt, Lt) in nodeSelectorTerms (any term may match; all its requirements
 * must), `matchFields` on metadata.name, and the weights of preferred terms for scoring.
 */
import type { KubeObject } from '../client/kube-client.js';

export interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}

export function requirementMatches(r: Requirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && (r.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(r.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(r.values?.[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(r.values?.[0]);
    default:
      return false;
  }
}

export function termMatches(t: NodeSelectorTerm, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  return (
    (t.matchExpressions ?? []).every((r) => requirementMatches(r, labels[r.key])) &&
    (t.matchFields ?? []).every((r) =>
      requirementMatches(r, r.key === 'metadata.name' ? node.metadata.name : undefined),
    )
  );
}

/** The pod's nodeSelector and required node affinity both admit the node. */
export function nodeAffinityMatches(podSpec: KubeObject['spec'], node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  // for...in, not Object.entries: this runs for every node a pod is tried on.
  const sel = podSpec?.nodeSelector as Record<string, string> | undefined;
  if (sel) for (const k in sel) if (labels[k] !== sel[k]) return false;
  const terms = podSpec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
    ?.nodeSelectorTerms as NodeSelectorTerm[] | undefined;
  return !terms?.length || terms.some((t) => termMatches(t, node));
}

/** The summed weights (1-100 each) of the preferred node-affinity terms the node matches. */
export function preferredNodeScore(podSpec: KubeObject['spec'], node: KubeObject): number {
  let sum = 0;
  for (const p of (podSpec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ??
    []) as {
    weight: number;
    preference: NodeSelectorTerm;
  }[])
    if (termMatches(p.preference, node)) sum += p.weight ?? 0;
  return sum;
}
