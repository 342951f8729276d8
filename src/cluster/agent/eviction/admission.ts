/**
 * The eviction manager's pod admission (the kubelet's `Admit`): a node under pressure takes
 * no new pods that would make it worse. Under MemoryPressure alone, only BestEffort pods are
 * refused, unless they tolerate the memory-pressure taint; under DiskPressure every pod is.
 * Critical pods (priority 2000000000 and above) are always admitted. Returns the kubelet's
 * message for a refusal, or undefined to admit.
 */
import type { KubeObject } from '../../client/kube-client.js';
import { qosClass } from '../qos.js';
import { CRITICAL_PRIORITY, type PressureConditions } from './manager.js';

const MEMORY_PRESSURE_TAINT = 'node.kubernetes.io/memory-pressure';

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

const toleratesMemoryPressure = (pod: KubeObject) =>
  ((pod.spec?.tolerations ?? []) as Toleration[]).some(
    (t) =>
      (!t.effect || t.effect === 'NoSchedule') &&
      (t.operator === 'Exists'
        ? !t.key || t.key === MEMORY_PRESSURE_TAINT
        : t.key === MEMORY_PRESSURE_TAINT && !t.value),
  );

export function admissionRefusal(pod: KubeObject, pressure: PressureConditions): string | undefined {
  const conditions = [
    ...(pressure.memory ? ['MemoryPressure'] : []),
    ...(pressure.disk ? ['DiskPressure'] : []),
  ];
  if (!conditions.length || Number(pod.spec?.priority ?? 0) >= CRITICAL_PRIORITY) return undefined;
  if (!pressure.disk && (qosClass(pod) !== 'BestEffort' || toleratesMemoryPressure(pod))) return undefined;
  return `The node had condition: [${conditions.join(' ')}]. `;
}
