/**
 * The HorizontalPodAutoscaler controller (after upstream's podautoscaler): every sync reads
 * the target's scale subresource, enforces minReplicas and maxReplicas at once, and
 * otherwise asks the resource metrics API (metrics.k8s.io, served from the agents) for the
 * pods' CPU and memory and computes a size with upstream's algorithm (hpa-replicas.ts).
 * Without a metrics API answering it reports ScalingActive False with FailedGetResourceMetric
 * and leaves the size alone, as kube-controller-manager does on a cluster without
 * metrics-server. HPAs are synced again every 15 seconds (upstream's
 * --horizontal-pod-autoscaler-sync-period).
 */
import { transitionTime } from '../api/condition-time.js';
import { hpaTargets } from '../api/hpa-metrics.js';
import { metaTime } from '../api/meta-time.js';
import { labelMatcher } from '../api/selectors.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, pathOf, type Resource, Resources } from '../client/kube-client.js';
import { milliCpu, parseQuantity } from '../scheduler/quantity.js';
import type { ControllerSpec } from './context.js';
import {
  type Behavior,
  behaviorOf,
  type PodSample,
  Recommendations,
  replicasFor,
  scaleUpLimit,
} from './hpa-replicas.js';

export const HPA_RESYNC_MS = 15_000;

/** The kinds whose scale subresource the controller drives. */
const scalable: Record<string, Resource> = {
  Deployment: Resources.deployments,
  ReplicaSet: Resources.replicasets,
  StatefulSet: Resources.statefulsets,
};

type Condition = {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
};
type Scale = { spec?: { replicas?: number }; status?: { replicas?: number; selector?: string } };

export interface HpaActions {
  getScale(kind: string, namespace: string, name: string): Promise<Scale>;
  setScale(kind: string, namespace: string, name: string, replicas: number): Promise<unknown>;
  updateStatus(hpa: KubeObject): Promise<unknown>;
  event(hpa: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  now(): Date;
  /** The pods a selector picks and their usage; absent, no metrics API is served. */
  resourceMetrics?: ResourceMetricsReader;
  /** Stabilizes a recommendation (upstream's behaviors); absent, it is taken as it is. */
  stabilize?(key: string, current: number, desired: number, behavior: Behavior): number;
}

export interface ResourceMetricsReader {
  pods(namespace: string, selector: string): Promise<KubeObject[]>;
  /** Usage per pod name: CPU in millicores and memory in bytes, summed over its containers. */
  usage(namespace: string, selector: string): Promise<Map<string, { cpu: number; memory: number }>>;
}

/** A pod's request for `resource` (summed over containers), or undefined when one lacks it. */
function podRequest(pod: KubeObject, resource: string): number | undefined {
  let total = 0;
  for (const c of (pod.spec?.containers ?? []) as { resources?: { requests?: Record<string, string> } }[]) {
    const q = c.resources?.requests?.[resource];
    if (q === undefined) return undefined;
    total += resource === 'cpu' ? milliCpu(q) : parseQuantity(q);
  }
  return total;
}

const podSample = (
  p: KubeObject,
  resource: string,
  usage: Map<string, { cpu: number; memory: number }>,
): PodSample => {
  const u = usage.get(p.metadata.name ?? '');
  const phase = p.status?.phase;
  return {
    name: p.metadata.name ?? '',
    ignored: !!p.metadata.deletionTimestamp || phase === 'Failed' || phase === 'Succeeded',
    ready:
      phase === 'Running' &&
      ((p.status?.conditions ?? []) as { type: string; status: string }[]).some(
        (c) => c.type === 'Ready' && c.status === 'True',
      ),
    request: podRequest(p, resource),
    usage: u ? (resource === 'cpu' ? u.cpu : u.memory) : undefined,
  };
};

/** The replicas the HPA's resource metrics ask for (the largest proposal), stabilized. */
async function metricsProposal(
  hpa: KubeObject,
  current: number,
  scale: Scale,
  reader: ResourceMetricsReader,
  act: HpaActions,
): Promise<{ replicas: number; metricName: string; currentMetrics: unknown[]; error?: string }> {
  const ns = hpa.metadata.namespace ?? '';
  const selector = scale.status?.selector ?? '';
  const currentMetrics: unknown[] = [];
  let best: number | undefined;
  let metricName = '';
  let error: string | undefined;
  for (const t of hpaTargets(hpa.spec)) {
    try {
      if (t.name !== 'cpu' && t.name !== 'memory')
        throw new Error(`metrics of type ${t.type} are not supported`);
      if (!selector) throw new Error('the target has no selector in its scale subresource');
      const [pods, usage] = await Promise.all([reader.pods(ns, selector), reader.usage(ns, selector)]);
      const goal =
        t.averageUtilization !== undefined
          ? { utilization: t.averageUtilization }
          : { averageValue: t.name === 'cpu' ? milliCpu(t.averageValue) : parseQuantity(t.averageValue) };
      const p = replicasFor(
        t.name,
        current,
        pods.map((x) => podSample(x, t.name, usage)),
        goal,
      );
      const avg = t.name === 'cpu' ? `${Math.round(p.averageValue)}m` : String(Math.round(p.averageValue));
      currentMetrics.push({
        type: 'Resource',
        resource: {
          name: t.name,
          current: {
            averageValue: avg,
            ...(p.utilization !== undefined ? { averageUtilization: p.utilization } : {}),
          },
        },
      });
      if (best === undefined || p.replicas > best) {
        best = p.replicas;
        metricName = t.name;
      }
    } catch (e) {
      error ??= `failed to get ${t.name} utilization: ${(e as Error).message}`;
    }
  }
  if (best === undefined)
    return { replicas: current, metricName, currentMetrics, error: error ?? 'no metrics' };
  let replicas = act.stabilize
    ? act.stabilize(`${ns}/${hpa.metadata.name}`, current, best, behaviorOf(hpa.spec))
    : best;
  replicas = Math.min(replicas, scaleUpLimit(current));
  return { replicas, metricName, currentMetrics };
}

/** Sets a condition, keeping its transition time when the status did not change. */
function setCondition(list: Condition[], c: Condition, now: Date): Condition[] {
  const old = list.find((x) => x.type === c.type);
  const next = { ...c, lastTransitionTime: transitionTime(old, c.status, metaTime(now)) };
  return [...list.filter((x) => x.type !== c.type), next];
}

/** Why a metric could not be read, in upstream's words, when no metrics API answers. */
const metricsMissing = (name: string) =>
  `failed to get ${name} utilization: unable to get metrics for resource ${name}: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)`;

export async function syncHpa(hpa: KubeObject | undefined, act: HpaActions): Promise<void> {
  if (!hpa || hpa.metadata.deletionTimestamp) return;
  const ns = hpa.metadata.namespace!;
  const spec = hpa.spec ?? {};
  const ref = (spec.scaleTargetRef ?? {}) as { kind?: string; name?: string };
  const min = spec.minReplicas ?? 1;
  const max = spec.maxReplicas ?? min;
  const now = act.now();
  let conditions: Condition[] = [...(hpa.status?.conditions ?? [])];
  const status: Record<string, unknown> = { ...(hpa.status ?? {}) };
  const write = async () => {
    status.conditions = conditions;
    status.observedGeneration = hpa.metadata.generation ?? 1;
    const strip = (s: unknown) =>
      JSON.stringify({
        ...(s as object),
        conditions: ((s as { conditions?: Condition[] })?.conditions ?? []).map(
          ({ lastTransitionTime: _, ...c }) => c,
        ),
      });
    if (strip(status) !== strip(hpa.status ?? {})) await act.updateStatus({ ...hpa, status });
  };
  let scale: Scale;
  try {
    if (!ref.kind || !scalable[ref.kind]) throw new Error(`no scale subresource for kind ${ref.kind}`);
    scale = await act.getScale(ref.kind, ns, ref.name ?? '');
  } catch (e) {
    const message = `the HPA controller was unable to get the target's current scale: ${(e as Error).message}`;
    act.event(hpa, 'Warning', 'FailedGetScale', (e as Error).message);
    conditions = setCondition(
      conditions,
      { type: 'AbleToScale', status: 'False', reason: 'FailedGetScale', message },
      now,
    );
    await write();
    return;
  }
  const current = scale.spec?.replicas ?? 0;
  status.currentReplicas = scale.status?.replicas ?? current;
  let desired = current;
  let reason = '';
  if (current === 0 && min !== 0) {
    conditions = setCondition(
      conditions,
      {
        type: 'ScalingActive',
        status: 'False',
        reason: 'ScalingDisabled',
        message: 'scaling is disabled since the replica count of the target is zero',
      },
      now,
    );
  } else if (current > max) {
    desired = max;
    reason = 'Current number of replicas above Spec.MaxReplicas';
  } else if (current < min) {
    desired = min;
    reason = 'Current number of replicas below Spec.MinReplicas';
  } else if (act.resourceMetrics) {
    const m = await metricsProposal(hpa, current, scale, act.resourceMetrics, act);
    status.currentMetrics = m.currentMetrics;
    if (m.error) {
      act.event(hpa, 'Warning', 'FailedGetResourceMetric', m.error);
      conditions = setCondition(
        conditions,
        {
          type: 'ScalingActive',
          status: 'False',
          reason: 'FailedGetResourceMetric',
          message: `the HPA was unable to compute the replica count: ${m.error}`,
        },
        now,
      );
    } else {
      conditions = setCondition(
        conditions,
        {
          type: 'ScalingActive',
          status: 'True',
          reason: 'ValidMetricFound',
          message: `the HPA was able to successfully calculate a replica count from ${m.metricName} resource utilization (percentage of request)`,
        },
        now,
      );
      const wanted = m.replicas;
      desired = Math.min(Math.max(wanted, min), max);
      conditions = setCondition(
        conditions,
        wanted > max
          ? {
              type: 'ScalingLimited',
              status: 'True',
              reason: 'TooManyReplicas',
              message: 'the desired replica count is more than the maximum replica count',
            }
          : wanted < min
            ? {
                type: 'ScalingLimited',
                status: 'True',
                reason: 'TooFewReplicas',
                message: 'the desired replica count is less than the minimum replica count',
              }
            : {
                type: 'ScalingLimited',
                status: 'False',
                reason: 'DesiredWithinRange',
                message: 'the desired count is within the acceptable range',
              },
        now,
      );
      reason = `${m.metricName} resource utilization (percentage of request) ${desired > current ? 'above' : 'below'} target`;
    }
  } else {
    const first = hpaTargets(spec)[0]!;
    const problem = metricsMissing(first.name);
    act.event(hpa, 'Warning', 'FailedGetResourceMetric', problem);
    act.event(
      hpa,
      'Warning',
      'FailedComputeMetricsReplicas',
      `invalid metrics (${hpaTargets(spec).length} invalid out of ${hpaTargets(spec).length}), first error is: failed to get ${first.name} resource metric value: ${problem}`,
    );
    conditions = setCondition(
      conditions,
      {
        type: 'ScalingActive',
        status: 'False',
        reason: 'FailedGetResourceMetric',
        message: `the HPA was unable to compute the replica count: ${problem}`,
      },
      now,
    );
  }
  if (desired !== current) {
    try {
      await act.setScale(ref.kind, ns, ref.name ?? '', desired);
    } catch (e) {
      act.event(
        hpa,
        'Warning',
        'FailedRescale',
        `New size: ${desired}; reason: ${reason}; error: ${(e as Error).message}`,
      );
      conditions = setCondition(
        conditions,
        {
          type: 'AbleToScale',
          status: 'False',
          reason: 'FailedUpdateScale',
          message: `the HPA controller was unable to update the target scale: ${(e as Error).message}`,
        },
        now,
      );
      await write();
      throw e;
    }
    act.event(hpa, 'Normal', 'SuccessfulRescale', `New size: ${desired}; reason: ${reason}`);
    conditions = setCondition(
      conditions,
      {
        type: 'AbleToScale',
        status: 'True',
        reason: 'SucceededRescale',
        message: `the HPA controller was able to update the target scale to ${desired}`,
      },
      now,
    );
    status.lastScaleTime = metaTime(now);
  } else
    conditions = setCondition(
      conditions,
      {
        type: 'AbleToScale',
        status: 'True',
        reason: 'ReadyForNewScale',
        message: 'recommended size matches current size',
      },
      now,
    );
  status.desiredReplicas = desired;
  await write();
}

type PodMetrics = {
  metadata: { name: string };
  containers?: { usage?: { cpu?: string; memory?: string } }[];
};
const sumOf = (m: PodMetrics, f: (u: { cpu?: string; memory?: string }) => number) =>
  (m.containers ?? []).reduce((a, c) => a + f(c.usage ?? {}), 0);

export const hpaController: ControllerSpec = {
  name: 'horizontalpodautoscaling',
  start(ctx) {
    const hpas = ctx.informer(Resources.horizontalpodautoscalers);
    const scalePath = (kind: string, ns: string, name: string) => pathOf(scalable[kind]!, ns, name, 'scale');
    const recorder = ctx.recorder('horizontal-pod-autoscaler');
    const pods = ctx.informer(Resources.pods);
    const recommendations = new Recommendations();
    const resourceMetrics: ResourceMetricsReader = {
      pods: async (ns, selector) => {
        const matches = labelMatcher(selector);
        return pods.list().filter((p) => p.metadata.namespace === ns && matches(p));
      },
      usage: async (ns, selector) => {
        const list = await ctx.client.request<{ items?: PodMetrics[] }>(
          'GET',
          `/apis/metrics.k8s.io/v1beta1/namespaces/${encodeURIComponent(ns)}/pods?labelSelector=${encodeURIComponent(selector)}`,
        );
        return new Map(
          (list.items ?? []).map((m) => [
            m.metadata.name,
            {
              cpu: sumOf(m, (u) => milliCpu(u.cpu)),
              memory: sumOf(m, (u) => parseQuantity(u.memory)),
            },
          ]),
        );
      },
    };
    const q = ctx.queue(async (key) => {
      const hpa = hpas.get(key);
      if (!hpa) return;
      // Level-triggered on a clock as upstream: the target's size and the metrics change without an HPA event.
      q.checkAfter(key, HPA_RESYNC_MS);
      await syncHpa(hpa, {
        getScale: (kind, ns, name) => ctx.client.request<Scale>('GET', scalePath(kind, ns, name)),
        setScale: (kind, ns, name, replicas) =>
          ctx.client.request(
            'PATCH',
            scalePath(kind, ns, name),
            { spec: { replicas } },
            'application/merge-patch+json',
          ),
        updateStatus: (o) => ctx.client.updateStatus(Resources.horizontalpodautoscalers, o),
        event: (o, type, reason, message) =>
          recorder.record(
            { ...o, apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler' },
            type,
            reason,
            message,
          ),
        now: () => new Date(),
        resourceMetrics,
        stabilize: (k, current, desired, b) => recommendations.stabilize(k, Date.now(), current, desired, b),
      });
    }, 2);
    hpas.onDelete((o) => recommendations.forget(keyOf(o)));
    hpas
      .onAdd((o) => q.add(keyOf(o)))
      .onUpdate((o, old) => {
        // Its own status writes come back as updates: only spec changes need a pass now.
        if (!old || o.metadata.generation !== old.metadata.generation) q.add(keyOf(o));
      });
  },
};
