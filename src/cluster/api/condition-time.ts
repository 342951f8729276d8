/**
 * A status condition's `lastTransitionTime`, as every Kubernetes controller keeps it: the time
 * the condition last changed its status, so it stays while the status stays the same.
 */

/** The stored condition a new one replaces: its status and when that status began. */
export interface PriorCondition {
  status?: string;
  lastTransitionTime?: string;
}

/** `prior`'s transition time when its status is `status` (and it has one), else `now`. */
export function transitionTime(prior: PriorCondition | undefined, status: string, now: string): string {
  return prior?.status === status && prior.lastTransitionTime ? prior.lastTransitionTime : now;
}
