/**
 * Events expire an hour after they last happened (the API server's `--event-ttl` default in
 * Kubernetes, which etcd leases enforce there): this sweep lists Events every few minutes and
 * deletes the expired ones, so `kubectl get events` and the store stay bounded on a
 * long-running cluster. A list rather than an informer: events are many and rarely read.
 */
import { unlessNotFound } from '../../core/errors.js';
import { logger } from '../../core/log.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

const log = logger('event-ttl');

export const EVENT_TTL_MS = 60 * 60_000;
const SWEEP_MS = 5 * 60_000;

/** When the event last happened (ms), from the newest timestamp it carries. */
export function lastSeen(ev: KubeObject): number {
  const stamps = [
    ev.lastTimestamp,
    ev.eventTime,
    (ev.series as { lastObservedTime?: string } | undefined)?.lastObservedTime,
    ev.firstTimestamp,
    ev.metadata.creationTimestamp,
  ];
  return Math.max(0, ...stamps.map((s) => Date.parse(String(s ?? '')) || 0));
}

/** The events of `items` that have expired at `now`. */
export function expired(items: readonly KubeObject[], now: number, ttlMs = EVENT_TTL_MS): KubeObject[] {
  return items.filter((e) => now - lastSeen(e) > ttlMs);
}

export const eventTtlController: ControllerSpec = {
  name: 'eventttl',
  start(ctx) {
    let running = false;
    const sweep = async () => {
      if (running) return;
      running = true;
      try {
        const list = await ctx.client.list(Resources.events);
        for (const e of expired(list.items, Date.now()))
          await unlessNotFound(
            ctx.client.delete(Resources.events, e.metadata.namespace, e.metadata.name!, {
              uid: e.metadata.uid,
            }),
          );
      } catch (err) {
        log.warn('event sweep failed; retrying at the next one', { err: err as Error });
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void sweep(), SWEEP_MS);
    timer.unref();
    ctx.onStop(() => clearInterval(timer));
  },
};
