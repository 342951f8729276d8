/**
 * A pod's READY, STATUS and RESTARTS cells, worked out as upstream's printPod does: init
 * containers show as `Init:1/2` or `Init:CrashLoopBackOff`, a container that ended without a
 * reason as `ExitCode:N` or `Signal:N`, restarts with how long ago the last one was
 * (`3 (42s ago)`), sidecars (restartable init containers) counted among the containers.
 */
import { arr, type Obj } from './field-values.js';
import { age, g } from './table-cells.js';

/** What `kubectl get pods` prints for one pod in its READY, STATUS and RESTARTS columns. */
export interface PodCells {
  ready: string;
  status: string;
  restarts: string;
}

const isSidecar = (c: Obj | undefined) => c?.restartPolicy === 'Always';
const conditionTrue = (o: Obj, type: string) =>
  arr(g(o, 'status.conditions')).some((c) => c.type === type && c.status === 'True');
/** The later of two RFC 3339 times (either may be missing). */
const later = (a: string | undefined, b: unknown) =>
  typeof b === 'string' && (!a || Date.parse(b) > Date.parse(a)) ? b : a;

/** Upstream's reason for a container that ended: its own, else `Signal:N` or `ExitCode:N`. */
function endedReason(t: Obj): string {
  if (t.reason) return String(t.reason);
  return t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`;
}

export function podCells(pod: Obj, now = Date.now()): PodCells {
  const initSpecs = new Map(arr(g(pod, 'spec.initContainers')).map((c) => [String(c.name), c]));
  let total = arr(g(pod, 'spec.containers')).length;
  for (const c of initSpecs.values()) if (isSidecar(c)) total++;
  const phase = g(pod, 'status.phase') as string | undefined;
  let reason = String(g(pod, 'status.reason') ?? phase ?? '');
  if (
    arr(g(pod, 'status.conditions')).some((c) => c.type === 'PodScheduled' && c.reason === 'SchedulingGated')
  )
    reason = 'SchedulingGated';
  let ready = 0;
  let restarts = 0;
  let lastRestart: string | undefined;
  let sidecarRestarts = 0;
  let lastSidecarRestart: string | undefined;

  let initializing = false;
  const initStatuses = arr(g(pod, 'status.initContainerStatuses'));
  for (const [i, cs] of initStatuses.entries()) {
    restarts += Number(cs.restartCount ?? 0);
    const finished = g(cs, 'lastState.terminated.finishedAt');
    lastRestart = later(lastRestart, finished);
    const sidecar = isSidecar(initSpecs.get(String(cs.name)));
    if (sidecar) {
      sidecarRestarts += Number(cs.restartCount ?? 0);
      lastSidecarRestart = later(lastSidecarRestart, finished);
    }
    const terminated = g(cs, 'state.terminated') as Obj | undefined;
    const waiting = g(cs, 'state.waiting.reason') as string | undefined;
    if (terminated && Number(terminated.exitCode ?? 0) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) ready++;
      continue;
    }
    if (terminated) reason = `Init:${endedReason(terminated)}`;
    else if (waiting && waiting !== 'PodInitializing') reason = `Init:${waiting}`;
    else reason = `Init:${i}/${initSpecs.size}`;
    initializing = true;
    break;
  }

  if (!initializing || conditionTrue(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let running = false;
    const statuses = arr(g(pod, 'status.containerStatuses'));
    // Last to first, so the first container with something to say has the last word.
    for (const cs of [...statuses].reverse()) {
      restarts += Number(cs.restartCount ?? 0);
      lastRestart = later(lastRestart, g(cs, 'lastState.terminated.finishedAt'));
      const waiting = g(cs, 'state.waiting.reason') as string | undefined;
      const terminated = g(cs, 'state.terminated') as Obj | undefined;
      if (waiting) reason = waiting;
      else if (terminated) reason = endedReason(terminated);
      else if (cs.ready && g(cs, 'state.running')) {
        running = true;
        ready++;
      }
    }
    if (reason === 'Completed' && running) reason = conditionTrue(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  if (g(pod, 'metadata.deletionTimestamp')) {
    if (g(pod, 'status.reason') === 'NodeLost') reason = 'Unknown';
    else if (phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  }
  return {
    ready: `${ready}/${total}`,
    status: reason,
    restarts: restarts && lastRestart ? `${restarts} (${age(lastRestart, now)} ago)` : String(restarts),
  };
}

/** The READINESS GATES cell: how many of the pod's gates hold, `<none>` without gates. */
export function readinessGates(pod: Obj): string {
  const gates = arr(g(pod, 'spec.readinessGates'));
  if (!gates.length) return '<none>';
  const held = gates.filter((gate) => conditionTrue(pod, String(gate.conditionType))).length;
  return `${held}/${gates.length}`;
}
