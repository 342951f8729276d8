/** What both the eviction subresource and the disruption controller read from a PodDisruptionBudget. */
import { type KubeObject, selectorMatcher } from './selectors.js';

/**
 * Whether the budget covers the pod. In policy/v1 an empty selector selects every pod of the
 * namespace and a missing one selects none.
 */
export function pdbSelects(pdb: KubeObject, pod: KubeObject): boolean {
  const sel = (pdb.spec as { selector?: Parameters<typeof selectorMatcher>[0] } | undefined)?.selector;
  if (!sel) return false;
  return pdb.metadata?.namespace === pod.metadata?.namespace && selectorMatcher(sel)(pod.metadata?.labels);
}

/** Evictions granted but not yet seen as deletions are forgotten after this long (upstream's DeletionTimeout). */
export const DISRUPTED_POD_TIMEOUT_MS = 2 * 60_000;

/** Evictions the status may record before the controller confirms them (upstream's MaxDisruptedPodSize). */
export const MAX_DISRUPTED_PODS = 2000;
