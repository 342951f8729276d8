/**
 * Objects as the version a request names: kinds served at more than one version share one
 * stored object (the storage key ignores the version), so each read is converted to the
 * requested version's shape. Only autoscaling's HorizontalPodAutoscaler differs between its
 * versions today; v1 keeps what it has no field for in annotations, as upstream's
 * conversion does.
 */
import type { Obj } from './field-values.js';
import type { ResourceInfo } from './resources.js';
import type { KubeObject } from './selectors.js';

const CONDITIONS = 'autoscaling.alpha.kubernetes.io/conditions';

const cpuMetric = (utilization: number) => ({
  type: 'Resource',
  resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: utilization } },
});

/** autoscaling/v1's shape: the CPU target as a number, conditions in an annotation. */
function hpaToV1(o: KubeObject): KubeObject {
  const spec = { ...((o.spec ?? {}) as Obj) };
  const status = { ...((o.status ?? {}) as Obj) };
  const metrics = spec.metrics as Obj[] | undefined;
  if (metrics === undefined && status.conditions === undefined && status.currentMetrics === undefined)
    return o;
  const cpu = metrics?.find((m) => m.type === 'Resource' && (m.resource as Obj | undefined)?.name === 'cpu');
  const target = ((cpu?.resource as Obj | undefined)?.target as Obj | undefined)?.averageUtilization;
  delete spec.metrics;
  delete spec.behavior;
  if (typeof target === 'number') spec.targetCPUUtilizationPercentage = target;
  const current = (status.currentMetrics as Obj[] | undefined)?.find(
    (m) => (m.resource as Obj | undefined)?.name === 'cpu',
  );
  const util = ((current?.resource as Obj | undefined)?.current as Obj | undefined)?.averageUtilization;
  if (typeof util === 'number') status.currentCPUUtilizationPercentage = util;
  const conditions = status.conditions;
  delete status.conditions;
  delete status.currentMetrics;
  const metadata = { ...(o.metadata ?? {}) };
  if (Array.isArray(conditions) && conditions.length)
    metadata.annotations = { ...(metadata.annotations ?? {}), [CONDITIONS]: JSON.stringify(conditions) };
  return { ...o, metadata, spec, ...(o.status !== undefined ? { status } : {}) };
}

/** autoscaling/v2's shape: metrics and conditions as fields. */
function hpaToV2(o: KubeObject): KubeObject {
  const spec = { ...((o.spec ?? {}) as Obj) };
  const status = { ...((o.status ?? {}) as Obj) };
  const annotations = { ...(o.metadata?.annotations ?? {}) };
  const cpu = spec.targetCPUUtilizationPercentage;
  const util = status.currentCPUUtilizationPercentage;
  const conditions = annotations[CONDITIONS];
  if (cpu === undefined && util === undefined && conditions === undefined) return o;
  delete spec.targetCPUUtilizationPercentage;
  if (typeof cpu === 'number') spec.metrics = [cpuMetric(cpu)];
  delete status.currentCPUUtilizationPercentage;
  if (typeof util === 'number')
    status.currentMetrics = [
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: util } } },
    ];
  if (conditions !== undefined) {
    delete annotations[CONDITIONS];
    try {
      status.conditions = JSON.parse(conditions);
    } catch {
      // A hand-written annotation that is not JSON stays where it was; the conditions are unknown.
      annotations[CONDITIONS] = conditions;
    }
  }
  const metadata = { ...(o.metadata ?? {}) };
  if (Object.keys(annotations).length) metadata.annotations = annotations;
  else delete metadata.annotations;
  return {
    ...o,
    metadata,
    spec,
    ...(o.status !== undefined || Object.keys(status).length ? { status } : {}),
  };
}

const converters: Record<string, (o: KubeObject) => KubeObject> = {
  'autoscaling/v1/HorizontalPodAutoscaler': hpaToV1,
  'autoscaling/v2/HorizontalPodAutoscaler': hpaToV2,
};

/** The shape objects of `r`'s kind are stored in (the newest version's), whatever version wrote them. */
export function toStorage(r: ResourceInfo, o: KubeObject): KubeObject {
  return !r.custom && r.group === 'autoscaling' && r.kind === 'HorizontalPodAutoscaler' ? hpaToV2(o) : o;
}

/** The object in the shape of `r`'s version, with its apiVersion and kind. */
export function asVersion(r: ResourceInfo, o: KubeObject): KubeObject {
  const apiVersion = r.group ? `${r.group}/${r.version}` : r.version;
  const convert = r.custom ? undefined : converters[`${apiVersion}/${r.kind}`];
  return { ...(convert ? convert(o) : o), apiVersion, kind: r.kind };
}
