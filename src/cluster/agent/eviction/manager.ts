/**
 * The node's eviction manager (the kubelet's): every pass measures the signals against the
 * hard thresholds, keeps the node's MemoryPressure and DiskPressure conditions (each stays
 * for the transition period after its threshold was last met, so a node hovering at the
 * line does not flap), and while a threshold is met reclaims: for disk, node-level
 * resources first (unused images, exited containers), measuring again; then one pod per
 * pass, ranked as the kubelet ranks them (rank.ts), is evicted with the kubelet's message.
 * Critical pods (priority 2000000000 and above) are never evicted.
 */
import { logger } from '../../../core/log.js';
import type { KubeObject } from '../../client/kube-client.js';
import { formatQuantity } from '../../scheduler/quantity.js';
import { containerRequest, type PodUsage, rankForEviction, type Starved } from './rank.js';
import type { Observation, Observations } from './signals.js';
import { type EvictionSignal, type Threshold, thresholdBytes } from './thresholds.js';

const log = logger('agent');

/** Upstream's SystemCriticalPriority: pods at or above it are never evicted. */
export const CRITICAL_PRIORITY = 2_000_000_000;

export interface EvictionManagerOptions {
  thresholds: Threshold[];
  observe(): Observations;
  /** The pods that could be evicted: bound here, not finished, not being deleted. */
  activePods(): KubeObject[];
  /** What a pod uses now (undefined when unknown). */
  usage(pod: KubeObject): Promise<PodUsage | undefined>;
  /** Frees disk without touching running pods: unused images, exited containers. */
  reclaimDisk(): Promise<void>;
  /** Evicts the pod: Failed, reason Evicted, with `message`. */
  evict(pod: KubeObject, message: string): Promise<void>;
  /** How long a condition stays after its threshold was last met (the kubelet's 5 min). */
  transitionMs?: number;
  now?: () => number;
}

export interface PressureConditions {
  memory: boolean;
  disk: boolean;
}

const resourceOf = (s: EvictionSignal): Starved =>
  s === 'memory.available' ? 'memory' : 'ephemeral-storage';

export class EvictionManager {
  private readonly lastMet: Partial<Record<Starved, number>> = {};
  private readonly now: () => number;

  constructor(private readonly opts: EvictionManagerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The node conditions as of the last pass. */
  conditions(): PressureConditions {
    const within = (r: Starved) => {
      const t = this.lastMet[r];
      return t !== undefined && this.now() - t < (this.opts.transitionMs ?? 300_000);
    };
    return { memory: within('memory'), disk: within('ephemeral-storage') };
  }

  private met(obs: Observations): { t: Threshold; o: Observation }[] {
    const out: { t: Threshold; o: Observation }[] = [];
    for (const t of this.opts.thresholds) {
      const o = obs[t.signal];
      if (o && o.capacity > 0 && o.available < thresholdBytes(t, o.capacity)) out.push({ t, o });
    }
    // Memory first, as the kubelet orders its thresholds.
    return out.sort(
      (a, b) => Number(b.t.signal === 'memory.available') - Number(a.t.signal === 'memory.available'),
    );
  }

  /** One pass; returns the pod it evicted, if any. */
  async synchronize(): Promise<KubeObject | undefined> {
    const met = this.met(this.opts.observe());
    const now = this.now();
    for (const { t } of met) this.lastMet[resourceOf(t.signal)] = now;
    let first: (typeof met)[number] | undefined = met[0];
    if (!first) return undefined;
    log.info('eviction threshold met', {
      signal: first.t.signal,
      available: first.o.available,
      threshold: thresholdBytes(first.t, first.o.capacity),
    });
    const signal = first.t.signal;
    if (signal !== 'memory.available') {
      await this.opts.reclaimDisk();
      first = this.met(this.opts.observe()).find((m) => m.t.signal === signal);
      if (!first) {
        log.info('disk reclaimed without evicting a pod');
        return undefined;
      }
    }
    const resource = resourceOf(first.t.signal);
    const pods = this.opts.activePods().filter((p) => Number(p.spec?.priority ?? 0) < CRITICAL_PRIORITY);
    if (!pods.length) return undefined;
    const usage = new Map<string, PodUsage | undefined>();
    for (const p of pods) usage.set(p.metadata.uid ?? '', await this.opts.usage(p));
    const victim = rankForEviction(pods, usage, resource)[0]!;
    const message = evictionMessage(victim, usage.get(victim.metadata.uid ?? ''), resource, first.t, first.o);
    log.info('evicting a pod', { pod: `${victim.metadata.namespace}/${victim.metadata.name}`, resource });
    await this.opts.evict(victim, message);
    return victim;
  }
}

/** The kubelet's eviction message: the resource, the threshold met, the containers beyond their requests. */
export function evictionMessage(
  pod: KubeObject,
  usage: PodUsage | undefined,
  resource: Starved,
  t: Threshold,
  o: Observation,
): string {
  let message = `The node was low on resource: ${resource}. `;
  message += `Threshold quantity: ${formatQuantity(thresholdBytes(t, o.capacity))}, available: ${formatQuantity(o.available)}. `;
  // biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
  for (const c of (pod.spec?.containers ?? []) as any[]) {
    const used = usage?.containers.find((x) => x.name === c.name)?.[
      resource === 'memory' ? 'memory' : 'disk'
    ];
    const request = containerRequest(c, resource);
    if (used !== undefined && used > request)
      message += `Container ${c.name} was using ${formatQuantity(used)}, request is ${formatQuantity(request)}, has larger consumption of ${resource}. `;
  }
  return message;
}
