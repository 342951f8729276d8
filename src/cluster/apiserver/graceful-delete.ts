/**
 * Graceful deletion (the pod strategy's `CheckGracefulDelete`): a pod that may still run on
 * a node is not deleted at once but marked, with a deletionTimestamp and a grace period, and
 * stays until its node's agent has stopped it and deletes it with grace period 0. A pod on no
 * node, or one that finished, has nothing to wait for. Other kinds delete at once.
 */
import type { KubeObject } from '../api/selectors.js';

/** The grace period (seconds) to wait for; 0 means delete now. */
export function gracePeriodFor(
  r: { kind: string; group?: string },
  obj: KubeObject,
  requested: number | undefined,
): number {
  if (r.kind !== 'Pod' || r.group) return 0;
  const spec = obj.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
  const phase = (obj.status as { phase?: string } | undefined)?.phase;
  if (!spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') return 0;
  const grace = requested ?? spec.terminationGracePeriodSeconds ?? 30;
  return Math.max(0, Math.floor(grace));
}
