/**
 * Events, so `kubectl describe` explains what the control plane did (after client-go's
 * tools/record): fire-and-forget, never blocking or failing a sync; a failed write is logged.
 *  - Repeats of one event (same object, type, reason and message) within ten minutes bump
 *    `count` and `lastTimestamp` of the first instead of adding another.
 *  - Similar events (same object, type and reason, other messages): after ten of them within
 *    ten minutes, the rest become one event "(combined from similar events): MESSAGE" whose
 *    count goes up (client-go's EventAggregator).
 *  - Each object may emit a burst of 25 events, then one per five minutes (the spam filter),
 *    so a ReplicaSet creating 1,000 pods writes 25 SuccessfulCreate events, not 1,000; repeats
 *    count against it too (a probe failing every second costs 25 writes, then one per 5 min).
 * One recorder per component; the API server (or `EventExpiry`) deletes events after an hour.
 */
import { logger } from '../../core/log.js';
import { metaTime } from '../api/meta-time.js';
import type { KubeClient, KubeObject } from './kube-client.js';
import { Resources } from './kube-client.js';

const log = logger('events');

const WINDOW_MS = 10 * 60_000;
const AGGREGATE_AFTER = 10;
const BURST = 25;
const REFILL_MS = 5 * 60_000;
const MAX_IN_FLIGHT = 16;
const MAX_QUEUED = 1000;
/** Past this many remembered keys, entries older than the window go (at most once a minute). */
const SOFT_LIMIT = 10_000;
/** Past this many, the oldest go whatever their age, so memory stays flat. */
const HARD_LIMIT = 40_000;

export type EventType = 'Normal' | 'Warning';

interface Written {
  name: string;
  namespace: string;
  count: number;
  at: number;
}

/** Drops old entries of a map whose values carry `at`, oldest first (insertion order). */
function trim<V extends { at: number }>(m: Map<string, V>, now: number, maxAge: number, scan: boolean): void {
  if (scan) for (const [k, v] of m) if (now - v.at > maxAge) m.delete(k);
  if (m.size <= HARD_LIMIT) return;
  for (const k of m.keys()) {
    m.delete(k);
    if (m.size <= HARD_LIMIT / 2) break;
  }
}

export class EventRecorder {
  /** Written events by their full key, to bump `count` on a repeat. */
  private readonly written = new Map<string, Written>();
  /** Distinct messages seen per similar-key (object, type, reason) within the window. */
  private readonly similar = new Map<string, { messages: Set<string>; at: number }>();
  /** Spam-filter buckets per object. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly queue: (() => Promise<unknown>)[] = [];
  private inFlight = 0;
  private lastPrune = 0;

  constructor(
    private readonly client: KubeClient,
    readonly component: string,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Records an event about `obj` (any kind with metadata; its kind and apiVersion should be
   * set). `component` is the source shown in `kubectl describe` ("From").
   */
  record(obj: KubeObject, type: EventType, reason: string, message: string): void {
    const now = this.now();
    this.prune(now);
    const ns = obj.metadata.namespace || 'default';
    const objKey = `${obj.kind}/${ns}/${obj.metadata.name}/${obj.metadata.uid ?? ''}`;
    const similarKey = `${objKey}/${type}/${reason}`;
    let msg = message;
    let s = this.similar.get(similarKey);
    if (!s || now - s.at > WINDOW_MS) {
      s = { messages: new Set(), at: now };
      this.similar.set(similarKey, s);
    }
    s.messages.add(message);
    if (s.messages.size > AGGREGATE_AFTER) msg = `(combined from similar events): ${message}`;
    const key = msg === message ? `${similarKey}/${message}` : `${similarKey}/(combined)`;
    const ts = metaTime(now);
    // The spam filter comes first, as client-go's: a repeat (a probe failing every second)
    // is throttled like a new event, not written as one PATCH per occurrence.
    if (!this.allowed(objKey, now)) return;
    const prev = this.written.get(key);
    if (prev && now - prev.at < WINDOW_MS) {
      prev.count++;
      prev.at = now;
      const { name, namespace, count } = prev;
      this.enqueue(() =>
        this.client.patch(Resources.events, namespace, name, { count, lastTimestamp: ts, message: msg }),
      );
      return;
    }
    // Upstream's name: the object's name and the time in hexadecimal nanoseconds.
    const name = `${obj.metadata.name}.${(BigInt(now) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n)).toString(16)}`;
    if (
      !this.enqueue(() =>
        this.client.create(Resources.events, ns, this.event(obj, name, ns, type, reason, msg, ts)),
      )
    )
      return;
    this.written.set(key, { name, namespace: ns, count: 1, at: now });
  }

  /** Events waiting to be written or being written (for tests). */
  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  private event(
    obj: KubeObject,
    name: string,
    ns: string,
    type: EventType,
    reason: string,
    message: string,
    ts: string,
  ): KubeObject {
    return {
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
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: '',
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
  }

  private enqueue(job: () => Promise<unknown>): boolean {
    if (this.queue.length >= MAX_QUEUED) return false;
    this.queue.push(job);
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.inFlight < MAX_IN_FLIGHT && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.inFlight++;
      void job()
        // Never retried, as client-go's recorder: a refusal (a namespace being terminated, whose
        // events would outlive it) or an unreachable server loses the event, not the sync.
        .catch((e: unknown) => log.debug('event not written', { component: this.component, err: e as Error }))
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }

  private allowed(objKey: string, now: number): boolean {
    const b = this.buckets.get(objKey) ?? { tokens: BURST, at: now };
    b.tokens = Math.min(BURST, b.tokens + Math.floor((now - b.at) / REFILL_MS));
    if (b.tokens < BURST) b.at = now - ((now - b.at) % REFILL_MS);
    else b.at = now;
    this.buckets.set(objKey, b);
    if (b.tokens <= 0) return false;
    b.tokens--;
    return true;
  }

  /**
   * Forgets old entries so a long-running control plane's memory stays flat. Amortised: the
   * scan for expired entries runs at most once a minute (30,000 pods scheduled in a burst
   * leave 30,000 fresh entries, and scanning them on every event made scheduling quadratic).
   */
  private prune(now: number): void {
    const big =
      this.written.size >= SOFT_LIMIT || this.buckets.size >= SOFT_LIMIT || this.similar.size >= SOFT_LIMIT;
    if (!big) return;
    const scan = now - this.lastPrune >= 60_000;
    if (scan) this.lastPrune = now;
    trim(this.written, now, WINDOW_MS, scan);
    trim(this.similar, now, WINDOW_MS, scan);
    trim(this.buckets, now, REFILL_MS * BURST, scan);
  }
}
