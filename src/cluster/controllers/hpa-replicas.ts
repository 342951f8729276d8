/**
 * The HorizontalPodAutoscaler's arithmetic, after upstream's replica calculator and
 * behaviors: the replicas a resource metric (CPU or memory, as a utilization of the pods'
 * requests or as an average value) asks for, with the 10% tolerance, unready and
 * metric-less pods handled as upstream does, and the scale-down stabilization window and
 * default scale-up rate limit. Pure: the controller feeds it pods and metrics.
 */

export const TOLERANCE = 0.1;

/** One pod of the target, as the calculator sees it. */
export interface PodSample {
  name: string;
  /** Running with its Ready condition True. */
  ready: boolean;
  /** Deleted, failed or succeeded: left out altogether. */
  ignored: boolean;
  /** The pod's request for the resource (sum of its containers), or undefined if one lacks it. */
  request: number | undefined;
  /** The pod's usage from the metrics API, or undefined when it has none. */
  usage: number | undefined;
}

export interface ResourceGoal {
  /** Percent of the request (targets of type Utilization). */
  utilization?: number;
  /** Per-pod value in the resource's unit (millicores, bytes) (targets of type AverageValue). */
  averageValue?: number;
}

export interface Proposal {
  replicas: number;
  /** The current utilization in percent (Utilization targets). */
  utilization?: number;
  /** The current average per pod, over the pods with metrics. */
  averageValue: number;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * The replicas one resource metric asks for (upstream's GetResourceReplicas and
 * GetRawResourceReplicas). Throws with upstream's message when it cannot tell.
 */
export function replicasFor(
  resource: string,
  current: number,
  pods: PodSample[],
  goal: ResourceGoal,
  tolerance = TOLERANCE,
): Proposal {
  // Upstream's metrics client fails before the pods are looked at when the metrics API returned
  // nothing at all for the selector (simulated pods, or an agent that serves no figures yet).
  if (pods.length && !pods.some((p) => p.usage !== undefined))
    throw new Error(
      `unable to get metrics for resource ${resource}: no metrics returned from resource metrics API`,
    );
  const live = pods.filter((p) => !p.ignored);
  if (!live.length) throw new Error('no pods returned by selector while calculating replica count');
  const withMetrics = live.filter((p) => p.usage !== undefined && (p.ready || resource !== 'cpu'));
  // CPU of pods not ready yet is misleading (start-up spikes): upstream sets them aside.
  const unready = live.filter((p) => p.usage !== undefined && !p.ready && resource === 'cpu');
  const missing = live.filter((p) => p.usage === undefined);
  if (!withMetrics.length)
    throw new Error(`did not receive metrics for targeted pods (pods might be unready)`);
  const ratioOf = (samples: { usage: number; request: number }[]) => {
    const usage = sum(samples.map((s) => s.usage));
    if (goal.utilization !== undefined) {
      const requests = sum(samples.map((s) => s.request));
      const utilization = Math.trunc((usage * 100) / requests);
      return { ratio: utilization / goal.utilization, utilization, average: usage / samples.length };
    }
    const average = usage / samples.length;
    return { ratio: average / (goal.averageValue ?? 1), average };
  };
  const samples = withMetrics.map((p) => {
    if (goal.utilization !== undefined && p.request === undefined)
      throw new Error(`missing request for ${resource} in pod ${p.name}`);
    return { usage: p.usage as number, request: p.request ?? 0 };
  });
  const first = ratioOf(samples);
  const report = (replicas: number): Proposal => ({
    replicas,
    ...(first.utilization !== undefined ? { utilization: first.utilization } : {}),
    averageValue: first.average,
  });
  const rebalanceUnready = unready.length > 0 && first.ratio > 1;
  if (!rebalanceUnready && missing.length === 0) {
    if (Math.abs(1 - first.ratio) <= tolerance) return report(current);
    return report(Math.ceil(first.ratio * samples.length));
  }
  // Assume the worst for pods without metrics: full use when scaling down, none when up.
  const fill = (p: PodSample, full: boolean) => {
    const request = p.request ?? 0;
    const usage = full ? (goal.utilization !== undefined ? request : (goal.averageValue ?? 0)) : 0;
    return { usage, request };
  };
  const extended = [
    ...samples,
    ...missing.map((p) => fill(p, first.ratio < 1)),
    ...(rebalanceUnready ? unready.map((p) => fill(p, false)) : []),
  ];
  const next = ratioOf(extended);
  if (
    Math.abs(1 - next.ratio) <= tolerance ||
    (first.ratio < 1 && next.ratio > 1) ||
    (first.ratio > 1 && next.ratio < 1)
  )
    return report(current);
  const replicas = Math.ceil(next.ratio * extended.length);
  if ((next.ratio < 1 && replicas > current) || (next.ratio > 1 && replicas < current))
    return report(current);
  return report(replicas);
}

/** Scale-up and scale-down windows and the default rate limit (upstream's default behavior). */
export interface Behavior {
  scaleUpWindowSeconds: number;
  scaleDownWindowSeconds: number;
}

// biome-ignore lint/suspicious/noExplicitAny: the HPA spec's behavior, as stored
export function behaviorOf(spec: any): Behavior {
  const up = spec?.behavior?.scaleUp?.stabilizationWindowSeconds;
  const down = spec?.behavior?.scaleDown?.stabilizationWindowSeconds;
  return {
    scaleUpWindowSeconds: typeof up === 'number' ? up : 0,
    scaleDownWindowSeconds: typeof down === 'number' ? down : 300,
  };
}

/**
 * The recommendations each HPA made recently, to stabilize the next one (upstream keeps
 * them in the controller's memory too): scaling down goes no lower than the highest
 * recommendation within the down window, scaling up no higher than the lowest within the up
 * window.
 */
export class Recommendations {
  private readonly byKey = new Map<string, { at: number; replicas: number }[]>();

  stabilize(key: string, now: number, current: number, desired: number, b: Behavior): number {
    const upCutoff = now - b.scaleUpWindowSeconds * 1000;
    const downCutoff = now - b.scaleDownWindowSeconds * 1000;
    let up = desired;
    let down = desired;
    const recs = (this.byKey.get(key) ?? []).filter((r) => r.at > Math.min(upCutoff, downCutoff));
    for (const r of recs) {
      if (r.at > upCutoff) up = Math.min(up, r.replicas);
      if (r.at > downCutoff) down = Math.max(down, r.replicas);
    }
    recs.push({ at: now, replicas: desired });
    this.byKey.set(key, recs);
    return Math.min(Math.max(current, up), down);
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}

/** Upstream's default scale-up limit per period: double, or four more, whichever is more. */
export const scaleUpLimit = (current: number) => Math.max(current * 2, current + 4);
