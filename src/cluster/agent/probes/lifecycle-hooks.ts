/**
 * A container's postStart and preStop hooks (exec, httpGet, tcpSocket, sleep), run the way
 * the kubelet runs them: postStart right after the container starts (a failure kills the
 * container, FailedPostStartHook), preStop before SIGTERM within the grace period (a failure
 * is reported, FailedPreStopHook, and the stop goes on).
 */

import { actionOf, type ProbeAction } from './probe-spec.js';
import type { ActionResult, ActionTarget } from './run-action.js';
import { runAction } from './run-action.js';

export type HookKind = 'postStart' | 'preStop';

// biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
type SpecContainer = any;

/** How a hook failed, in the kubelet's words for its event. */
function describe(a: ProbeAction, container: string, podName: string, r: ActionResult): string {
  if (a.type === 'exec')
    return `Exec lifecycle hook (${JSON.stringify(a.command)}) for Container "${container}" in Pod "${podName}" failed - error: ${r.output.trim()}`;
  if (a.type === 'http')
    return `HTTP lifecycle hook (${a.path}) for Container "${container}" in Pod "${podName}" failed - error: ${r.output}`;
  return `Lifecycle hook for Container "${container}" in Pod "${podName}" failed - error: ${r.output}`;
}

/**
 * Runs the container's `kind` hook, if it has one, within `timeoutMs`. Resolves with
 * undefined when there is none or it succeeded, else with the failure's message.
 */
export async function runHook(
  kind: HookKind,
  c: SpecContainer,
  podName: string,
  target: ActionTarget,
  timeoutMs: number,
  run: typeof runAction = runAction,
): Promise<string | undefined> {
  const h = c?.lifecycle?.[kind];
  if (!h) return undefined;
  const action = actionOf(c, h);
  if (!action) return undefined;
  const r = await run(action, target, timeoutMs);
  return r.ok ? undefined : describe(action, c.name, podName, r);
}
