/**
 * The metrics a HorizontalPodAutoscaler asks for, read from either version's shape: the
 * autoscaling/v1 and v2 endpoints share stored objects, so one may carry
 * `targetCPUUtilizationPercentage` and the other `metrics`. With neither, upstream's
 * default applies: CPU at 80% utilization.
 */
import type { Obj } from './field-values.js';

export interface ResourceTarget {
  /** `cpu`, `memory`, or the type of a metric that is not a resource one. */
  name: string;
  type: string;
  averageUtilization?: number;
  /** A per-pod quantity (targets of type AverageValue). */
  averageValue?: string;
}

export function hpaTargets(spec: Obj | undefined): ResourceTarget[] {
  const s = spec ?? {};
  if (typeof s.targetCPUUtilizationPercentage === 'number')
    return [{ name: 'cpu', type: 'Utilization', averageUtilization: s.targetCPUUtilizationPercentage }];
  const metrics = Array.isArray(s.metrics) ? (s.metrics as Obj[]) : [];
  if (!metrics.length) return [{ name: 'cpu', type: 'Utilization', averageUtilization: 80 }];
  return metrics.map((m) => {
    const res = (m.resource ?? m.containerResource) as Obj | undefined;
    const target = (res?.target ?? {}) as Obj;
    return res
      ? {
          name: String(res.name ?? ''),
          type: String(target.type ?? 'Utilization'),
          ...(typeof target.averageUtilization === 'number'
            ? { averageUtilization: target.averageUtilization }
            : {}),
          ...(target.averageValue !== undefined ? { averageValue: String(target.averageValue) } : {}),
        }
      : { name: String(m.type ?? 'Unknown'), type: String(m.type ?? 'Unknown') };
  });
}

/** The TARGETS column of `kubectl get hpa`: `cpu: <unknown>/80%`, what upstream prints before metrics arrive. */
export function targetsColumn(spec: Obj | undefined, status: Obj | undefined): string {
  const current = Array.isArray(status?.currentMetrics) ? (status.currentMetrics as Obj[]) : [];
  const shown = hpaTargets(spec).map((t) => {
    const cur = current.find((c) => (c.resource as Obj | undefined)?.name === t.name);
    const util = ((cur?.resource as Obj | undefined)?.current as Obj | undefined)?.averageUtilization;
    const now = typeof util === 'number' ? `${util}%` : '<unknown>';
    return t.averageUtilization !== undefined
      ? `${t.name}: ${now}/${t.averageUtilization}%`
      : `${t.name}: ${now}`;
  });
  return shown.length > 3
    ? `${shown.slice(0, 3).join(', ')} + ${shown.length - 3} more...`
    : shown.join(', ');
}
