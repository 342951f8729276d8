/**
 * The HorizontalPodAutoscaler controller (after upstream's podautoscaler): every sync reads
 * the target's scale subresource, enforces minReplicas and maxReplicas at once, and
 * otherwise asks the metrics for a size. No resource metrics API is served yet, so in range
 * it reports ScalingActive False with FailedGetResourceMetric and leaves the size alone, as
 * kube-controller-manager does on a cluster without metrics-server. HPAs are synced again
 * every 15 seconds (upstream's --horizontal-pod-autoscaler-sync-period).
 */
import { hpaTargets } from '../api/hpa-metrics.js';
import { keyOf } from '../client/informer.js';
import { type KubeObject, pathOf, type Resource, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

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
type Scale = { spec?: { replicas?: number }; status?: { replicas?: number } };

export interface HpaActions {
  getScale(kind: string, namespace: string, name: string): Promise<Scale>;
  setScale(kind: string, namespace: string, name: string, replicas: number): Promise<unknown>;
  updateStatus(hpa: KubeObject): Promise<unknown>;
  event(hpa: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void;
  now(): Date;
}

const stamp = (d: Date) => d.toISOString().replace(/\.\d+Z$/, 'Z');

/** Sets a condition, keeping its transition time when the status did not change. */
function setCondition(list: Condition[], c: Condition, now: Date): Condition[] {
  const old = list.find((x) => x.type === c.type);
  const next = {
    ...c,
    lastTransitionTime: old && old.status === c.status ? old.lastTransitionTime : stamp(now),
  };
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
    status.lastScaleTime = stamp(now);
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

export const hpaController: ControllerSpec = {
  name: 'horizontalpodautoscaling',
  start(ctx) {
    const hpas = ctx.informer(Resources.horizontalpodautoscalers);
    const scalePath = (kind: string, ns: string, name: string) => pathOf(scalable[kind]!, ns, name, 'scale');
    const recorder = ctx.recorder('horizontal-pod-autoscaler');
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
      });
    }, 2);
    hpas
      .onAdd((o) => q.add(keyOf(o)))
      .onUpdate((o, old) => {
        // Its own status writes come back as updates: only spec changes need a pass now.
        if (!old || o.metadata.generation !== old.metadata.generation) q.add(keyOf(o));
      });
  },
};
