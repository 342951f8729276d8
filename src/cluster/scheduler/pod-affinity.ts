/**
 * Inter-pod affinity and anti-affinity (required and preferred) and topology spread
 * constraints, evaluated for one pod against the pods already placed. A "domain" is the
 * value of the topology key on a node (its hostname, its zone); a term matches the pods its
 * label selector selects in its namespaces (default: the pod's own). Built once per
 * scheduling attempt, and only for pods that use these features, so pods without them cost
 * nothing.
 */
import { selectorMatcher } from '../api/selectors.js';
import type { KubeObject } from '../client/kube-client.js';
import { nodeAffinityMatches } from './node-affinity.js';

interface Term {
  labelSelector?: object;
  namespaces?: string[];
  topologyKey: string;
}
interface Weighted {
  weight: number;
  podAffinityTerm: Term;
}
interface Spread {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable?: string;
  labelSelector?: object;
  minDomains?: number;
}

/** Pods already placed (or assumed), with the node each is on. */
export interface Placed {
  pod: KubeObject;
  node: KubeObject;
}

const termSelects = (t: Term, ownNs: string, p: KubeObject) =>
  (t.namespaces?.length ? t.namespaces : [ownNs]).includes(p.metadata.namespace ?? '') &&
  selectorMatcher((t.labelSelector ?? {}) as never)(p.metadata.labels);

export function usesInterPod(pod: KubeObject): boolean {
  const a = pod.spec?.affinity ?? {};
  return !!(a.podAffinity || a.podAntiAffinity || pod.spec?.topologySpreadConstraints?.length);
}

export class InterPod {
  private readonly ns: string;
  private readonly required: Term[];
  private readonly antiRequired: Term[];
  private readonly preferred: Weighted[];
  private readonly antiPreferred: Weighted[];
  private readonly spread: Spread[];
  /** Per spread constraint: matching pods per domain, over the nodes the pod may use. */
  private readonly spreadCounts: Map<string, number>[] = [];

  constructor(
    private readonly pod: KubeObject,
    private readonly placed: readonly Placed[],
    nodes: readonly KubeObject[],
    /** Pods placed that carry required anti-affinity terms (checked against this pod too). */
    private readonly withAnti: readonly Placed[],
  ) {
    this.ns = pod.metadata.namespace ?? 'default';
    const a = pod.spec?.affinity ?? {};
    this.required = a.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    this.antiRequired = a.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    this.preferred = a.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    this.antiPreferred = a.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    this.spread = pod.spec?.topologySpreadConstraints ?? [];
    // Spread counts: domains are those of nodes the pod's node affinity admits (Honor).
    const eligible = nodes.filter((n) => nodeAffinityMatches(pod.spec, n));
    for (const c of this.spread) {
      const counts = new Map<string, number>();
      for (const n of eligible) {
        const d = n.metadata.labels?.[c.topologyKey];
        if (d !== undefined && !counts.has(d)) counts.set(d, 0);
      }
      const sel = selectorMatcher((c.labelSelector ?? {}) as never);
      for (const p of placed) {
        if (p.pod.metadata.namespace !== this.ns || !sel(p.pod.metadata.labels)) continue;
        const d = p.node.metadata.labels?.[c.topologyKey];
        if (d !== undefined && counts.has(d)) counts.set(d, counts.get(d)! + 1);
      }
      this.spreadCounts.push(counts);
    }
  }

  private domainHas(t: Term, node: KubeObject): boolean {
    const d = node.metadata.labels?.[t.topologyKey];
    if (d === undefined) return false;
    return this.placed.some(
      (p) => p.node.metadata.labels?.[t.topologyKey] === d && termSelects(t, this.ns, p.pod),
    );
  }

  /** Why the node fails the pod's inter-pod rules (kube-scheduler's words), or undefined. */
  unfit(node: KubeObject): string | undefined {
    for (const t of this.required) {
      if (this.domainHas(t, node)) continue;
      // The first pod of a group that wants to be with itself may go anywhere with the key.
      const nobody = !this.placed.some((p) => termSelects(t, this.ns, p.pod));
      if (nobody && termSelects(t, this.ns, this.pod) && node.metadata.labels?.[t.topologyKey] !== undefined)
        continue;
      return "node(s) didn't match pod affinity rules";
    }
    for (const t of this.antiRequired)
      if (this.domainHas(t, node)) return "node(s) didn't match pod anti-affinity rules";
    for (const e of this.withAnti) {
      for (const t of (e.pod.spec?.affinity?.podAntiAffinity
        ?.requiredDuringSchedulingIgnoredDuringExecution ?? []) as Term[]) {
        const d = node.metadata.labels?.[t.topologyKey];
        if (
          d !== undefined &&
          e.node.metadata.labels?.[t.topologyKey] === d &&
          termSelects(t, e.pod.metadata.namespace ?? 'default', this.pod)
        )
          return "node(s) didn't satisfy existing pods anti-affinity rules";
      }
    }
    for (const [i, c] of this.spread.entries()) {
      if ((c.whenUnsatisfiable ?? 'DoNotSchedule') !== 'DoNotSchedule') continue;
      const d = node.metadata.labels?.[c.topologyKey];
      if (d === undefined)
        return "node(s) didn't match pod topology spread constraints (missing required label)";
      const counts = this.spreadCounts[i]!;
      const domains = counts.size;
      // With fewer domains than minDomains, the global minimum counts as 0 (upstream).
      const min = c.minDomains && domains < c.minDomains ? 0 : Math.min(...counts.values());
      if ((counts.get(d) ?? 0) + 1 - min > c.maxSkew)
        return "node(s) didn't match pod topology spread constraints";
    }
    return undefined;
  }

  /** Preference: preferred (anti-)affinity weights and ScheduleAnyway spread, higher is better. */
  score(node: KubeObject): number {
    let s = 0;
    for (const w of this.preferred) if (this.domainHas(w.podAffinityTerm, node)) s += w.weight;
    for (const w of this.antiPreferred) if (this.domainHas(w.podAffinityTerm, node)) s -= w.weight;
    for (const [i, c] of this.spread.entries()) {
      const d = node.metadata.labels?.[c.topologyKey];
      if (d === undefined) continue;
      s -= 10 * (this.spreadCounts[i]!.get(d) ?? 0);
    }
    return s;
  }
}
