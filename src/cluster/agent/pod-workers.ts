/**
 * Feeds pods from an informer to the syncers of the nodes they are bound to, through one
 * rate-limited work queue (the kubelet's pod workers): a pod is synced on every change of
 * it (but a status-only one that says what its last sync reported: the echo of the agent's
 * own write), when its runtime reports an event, when a back-off ends, and at every housekeeping;
 * a failed sync is retried with back-off. One informer can serve one node (the agent, with a
 * spec.nodeName field selector) or many (`berth sim`, the whole pod list).
 */
import { Controller } from '../client/controller.js';
import { type Informer, keyOf } from '../client/informer.js';
import type { KubeObject } from '../client/kube-client.js';
import type { PodSyncer } from './pod-sync.js';
import type { PodRef, PodRuntime } from './runtime.js';

const HOUSEKEEPING = 'housekeeping:';
const BY_NODE = 'agent-node';

export interface PodWorkersOptions {
  name: string;
  pods: Informer;
  /** The syncer of a node this process runs, or undefined for any other node. */
  syncerFor(nodeName: string): PodSyncer | undefined;
  /** Concurrent syncs. */
  workers?: number;
}

/** The pod without what a status write changes: its status, resourceVersion and managedFields. */
const withoutStatus = (p: KubeObject) =>
  JSON.stringify({
    ...p,
    status: undefined,
    metadata: { ...p.metadata, resourceVersion: undefined, managedFields: undefined },
  });

/** Whether `p` differs from `old` in its status only (keys in another order count as a change). */
function onlyStatusChanged(p: KubeObject, old: KubeObject): boolean {
  return withoutStatus(p) === withoutStatus(old);
}

export class PodWorkers {
  private readonly controller: Controller;
  private readonly queue;
  private readonly unsubscribes: (() => void)[] = [];

  constructor(private readonly opts: PodWorkersOptions) {
    this.controller = new Controller(opts.name);
    this.controller.uses(opts.pods);
    this.queue = this.controller.queue((key) => this.sync(key), opts.workers ?? 8);
    opts.pods.addIndex(BY_NODE, (p) => (p.spec?.nodeName ? [p.spec.nodeName as string] : []));
    const enqueue = (p: KubeObject) => {
      const node = p.spec?.nodeName;
      if (node && opts.syncerFor(node)) this.queue.add(keyOf(p));
    };
    opts.pods
      .onAdd(enqueue)
      .onUpdate((p, old) => {
        const node = p.spec?.nodeName;
        const syncer = node ? opts.syncerFor(node) : undefined;
        // The cheap check first: most updates are not the echo of a write of this agent's.
        if (!syncer || (old && syncer.reportedAs(p) && onlyStatusChanged(p, old))) return;
        this.queue.add(keyOf(p));
      })
      .onDelete((p) => {
        // Its containers go at the node's next housekeeping, which a deletion calls now.
        const node = p.spec?.nodeName;
        const syncer = node ? opts.syncerFor(node) : undefined;
        if (!syncer) return;
        syncer.forget(p.metadata.uid ?? '');
        this.queue.add(`${HOUSEKEEPING}${node}`);
      });
  }

  /** Syncs a pod when its runtime says one of its containers changed. */
  watch(runtime: PodRuntime): void {
    this.unsubscribes.push(runtime.watchEvents((ref) => this.queue.add(`${ref.namespace}/${ref.name}`)));
  }

  /** Queues a sync of one pod (its probes' results changed). */
  syncPod(ref: PodRef): void {
    this.queue.add(`${ref.namespace}/${ref.name}`);
  }

  /** Queues a housekeeping pass of `node` (orphaned containers) and a sync of each of its pods. */
  resync(node: string): void {
    this.queue.add(`${HOUSEKEEPING}${node}`);
    for (const p of this.opts.pods.byIndex(BY_NODE, node)) this.queue.add(keyOf(p));
  }

  /** Waits for the informer's first list, then starts syncing. */
  run(): Promise<boolean> {
    return this.controller.run();
  }

  stop(): void {
    this.controller.stop();
    for (const u of this.unsubscribes.splice(0)) u();
  }

  private async sync(key: string): Promise<void> {
    if (key.startsWith(HOUSEKEEPING)) {
      const node = key.slice(HOUSEKEEPING.length);
      const syncer = this.opts.syncerFor(node);
      if (!syncer) return;
      const wanted = new Set<string>();
      for (const p of this.opts.pods.byIndex(BY_NODE, node)) if (p.metadata.uid) wanted.add(p.metadata.uid);
      await syncer.housekeeping(wanted);
      return;
    }
    const pod = this.opts.pods.get(key);
    const syncer = pod?.spec?.nodeName ? this.opts.syncerFor(pod.spec.nodeName) : undefined;
    if (!pod || !syncer) return;
    const r = await syncer.sync(pod);
    if (r.retryAfterMs !== undefined) this.queue.checkAfter(key, r.retryAfterMs);
  }
}
