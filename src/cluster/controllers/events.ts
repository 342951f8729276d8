/**
 * Events, so `kubectl describe` explains what the control plane did (after client-go's event
 * recorder): fire-and-forget, never blocking or failing a sync. Repeats of the same event
 * (same object, type, reason and message) within ten minutes bump `count` and
 * `lastTimestamp` of the first instead of adding another; each object may emit a burst of
 * 25 events, then one per five minutes (client-go's spam filter), so a ReplicaSet creating
 * 1,000 pods writes 25 SuccessfulCreate events, not 1,000.
 */
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { Resources } from '../client/kube-client.js';

const REPEAT_WINDOW_MS = 10 * 60_000;
const BURST = 25;
const REFILL_MS = 5 * 60_000;
const MAX_IN_FLIGHT = 16;
const MAX_QUEUED = 1000;

interface Seen {
  name: string;
  namespace: string;
  count: number;
  first: string;
  at: number;
}

const seen = new Map<string, Seen>();
const buckets = new Map<string, { tokens: number; at: number }>();
const queue: (() => Promise<unknown>)[] = [];
let inFlight = 0;

function pump(): void {
  while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
    const job = queue.shift()!;
    inFlight++;
    void job()
      .catch(() => {})
      .finally(() => {
        inFlight--;
        pump();
      });
  }
}

function allowed(objKey: string, now: number): boolean {
  const b = buckets.get(objKey) ?? { tokens: BURST, at: now };
  b.tokens = Math.min(BURST, b.tokens + Math.floor((now - b.at) / REFILL_MS));
  if (b.tokens < BURST) b.at = now - ((now - b.at) % REFILL_MS);
  else b.at = now;
  buckets.set(objKey, b);
  if (b.tokens <= 0) return false;
  b.tokens--;
  return true;
}

const SOFT_LIMIT = 10_000;
const HARD_LIMIT = 40_000;
let lastPrune = 0;

/**
 * Forgets old entries so a long-running control plane's memory stays flat. Amortised: the
 * scan for expired entries runs at most once a minute (30,000 pods scheduled in a burst
 * leave 30,000 fresh entries, and scanning them on every event made scheduling quadratic);
 * past the hard limit the oldest entries go (Maps iterate in insertion order).
 */
function prune(now: number): void {
  if (seen.size < SOFT_LIMIT && buckets.size < SOFT_LIMIT) return;
  if (now - lastPrune >= 60_000) {
    lastPrune = now;
    for (const [k, v] of seen) if (now - v.at > REPEAT_WINDOW_MS) seen.delete(k);
    for (const [k, v] of buckets) if (now - v.at > REFILL_MS * BURST) buckets.delete(k);
  }
  for (const m of [seen, buckets] as Map<string, unknown>[]) {
    if (m.size <= HARD_LIMIT) continue;
    for (const k of m.keys()) {
      m.delete(k);
      if (m.size <= HARD_LIMIT / 2) break;
    }
  }
}

/**
 * Records an event about `obj` (any kind with metadata; its kind and apiVersion should be
 * set). `component` is the source shown in `kubectl describe` ("From").
 */
export function recordEvent(
  client: KubeClient,
  obj: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  component = 'berth-controller-manager',
): void {
  const now = Date.now();
  prune(now);
  const ns = obj.metadata.namespace || 'default';
  const objKey = `${component}/${obj.kind}/${ns}/${obj.metadata.name}/${obj.metadata.uid ?? ''}`;
  const key = `${objKey}/${type}/${reason}/${message}`;
  const ts = new Date(now).toISOString().replace(/\.\d+Z$/, 'Z');
  const prev = seen.get(key);
  if (prev && now - prev.at < REPEAT_WINDOW_MS) {
    prev.count++;
    prev.at = now;
    const { name, namespace, count } = prev;
    if (queue.length < MAX_QUEUED)
      queue.push(() => client.patch(Resources.events, namespace, name, { count, lastTimestamp: ts }));
    pump();
    return;
  }
  if (!allowed(objKey, now) || queue.length >= MAX_QUEUED) return;
  // Upstream's name: the object's name and the time in hexadecimal nanoseconds.
  const name = `${obj.metadata.name}.${(BigInt(now) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n)).toString(16)}`;
  seen.set(key, { name, namespace: ns, count: 1, first: ts, at: now });
  queue.push(() =>
    client.create(Resources.events, ns, {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component },
      reportingComponent: component,
      reportingInstance: '',
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    }),
  );
  pump();
}
