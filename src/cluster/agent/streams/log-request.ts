/**
 * The log options of a `containerLogs` request, as kubectl sends them through the API server
 * (the kubelet's PodLogOptions): follow, tailLines, sinceSeconds or sinceTime, timestamps,
 * limitBytes. Values that do not parse are left out, as the kubelet ignores them.
 */
import type { LogRequest } from '../runtime.js';

const whole = (v: string | null): number | undefined => {
  if (v === null || !/^\d+$/.test(v)) return undefined;
  return Number(v);
};

export function logRequest(q: URLSearchParams, now = Date.now()): Omit<LogRequest, 'signal'> {
  const tail = whole(q.get('tailLines'));
  const sinceSeconds = whole(q.get('sinceSeconds'));
  const sinceTime = q.get('sinceTime') ? Date.parse(q.get('sinceTime') as string) : Number.NaN;
  const since =
    sinceSeconds !== undefined ? now - sinceSeconds * 1000 : Number.isNaN(sinceTime) ? undefined : sinceTime;
  const limitBytes = whole(q.get('limitBytes'));
  return {
    follow: q.get('follow') === 'true',
    ...(tail !== undefined ? { tail } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(q.get('timestamps') === 'true' ? { timestamps: true } : {}),
    ...(limitBytes !== undefined && limitBytes > 0 ? { limitBytes } : {}),
  };
}
