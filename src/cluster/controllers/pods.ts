import type { KubeObject } from '../client/kube-client.js';

/** Small facts about pods that several controllers share. */
export function isPodReady(p: KubeObject): boolean {
  return (p.status?.conditions ?? []).some(
    (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
  );
}

/** When the pod last became Ready (ms since the epoch); 0 when unknown, which counts as long ago. */
export function readySince(p: KubeObject): number {
  const c = (p.status?.conditions ?? []).find((x: { type: string }) => x.type === 'Ready');
  return c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) || 0 : 0;
}

export function isPodTerminal(p: KubeObject): boolean {
  return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
}

export function isActive(p: KubeObject): boolean {
  return !isPodTerminal(p) && !p.metadata.deletionTimestamp;
}

/** The uid of the object's controlling owner, if any. */
export function controllerUid(obj: KubeObject): string | undefined {
  return obj.metadata.ownerReferences?.find((o) => o.controller)?.uid;
}

/** Which pods to delete first when scaling down (upstream's order): unscheduled, pending, not ready, then the newest. */
export function deletionOrder(a: KubeObject, b: KubeObject): number {
  const rank = (p: KubeObject) =>
    !p.spec?.nodeName ? 0 : p.status?.phase === 'Pending' ? 1 : !isPodReady(p) ? 2 : 3;
  const d = rank(a) - rank(b);
  if (d !== 0) return d;
  return String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? ''));
}
