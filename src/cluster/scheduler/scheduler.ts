import { logger } from '../../core/log.js';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { Resources } from '../client/kube-client.js';
import { WorkQueue } from '../client/work-queue.js';
import type { ControllerSpec } from '../controllers/context.js';
import { recordEvent } from '../controllers/events.js';
import { controllerUid, isPodTerminal } from '../controllers/pods.js';
import { type NodeInfo, nodeInfo, podRequest, score, unfitReason, unschedulableMessage } from './fit.js';

const log = logger('scheduler');

/**
 * The scheduler: binds each pending pod to the best node that fits it. Node usage is kept
 * incrementally from the pod cache (plus pods it has just bound, "assumed", until the cache
 * shows them), so each decision costs one pass over the nodes, not over all pods. A pod that
 * fits nowhere gets PodScheduled=False with kube-scheduler's reason, and is retried when a
 * node changes and every few seconds.
 */
export class Scheduler {
  private readonly nodes = new Map<string, NodeInfo>();
  /** Pod key -> the node its usage is counted on. */
  private readonly counted = new Map<string, { node: string; cpu: number; memory: number; owner?: string }>();
  private readonly queue: WorkQueue;
  private readonly unschedulable = new Set<string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: KubeClient,
    private readonly pods: Informer,
    nodeInformer: Informer,
  ) {
    this.queue = new WorkQueue((key) => this.schedule(key), 8);
    nodeInformer
      .onAdd((n) => this.upsertNode(n))
      .onUpdate((n) => this.upsertNode(n))
      .onDelete((n) => this.nodes.delete(n.metadata.name!));
    pods
      .onAdd((p) => this.observePod(p))
      .onUpdate((p) => this.observePod(p))
      .onDelete((p) => this.forget(keyOf(p)));
  }

  start(): void {
    this.timer = setInterval(() => this.retryUnschedulable(), 5000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.queue.stop();
  }

  private upsertNode(n: KubeObject): void {
    const name = n.metadata.name!;
    const prev = this.nodes.get(name);
    const info = nodeInfo(n);
    if (prev) {
      info.usedCpu = prev.usedCpu;
      info.usedMemory = prev.usedMemory;
      info.pods = prev.pods;
      info.byOwner = prev.byOwner;
    }
    this.nodes.set(name, info);
    if (!prev) this.retryUnschedulable();
  }

  private retryUnschedulable(): void {
    for (const k of this.unschedulable) this.queue.add(k);
  }

  private count(key: string, nodeName: string, pod: KubeObject): void {
    if (this.counted.has(key)) return;
    const req = podRequest(pod);
    const owner = controllerUid(pod);
    this.counted.set(key, { node: nodeName, ...req, owner });
    const n = this.nodes.get(nodeName);
    if (!n) return;
    n.usedCpu += req.cpu;
    n.usedMemory += req.memory;
    n.pods++;
    if (owner) n.byOwner.set(owner, (n.byOwner.get(owner) ?? 0) + 1);
  }

  private forget(key: string): void {
    const c = this.counted.get(key);
    this.unschedulable.delete(key);
    if (!c) return;
    this.counted.delete(key);
    const n = this.nodes.get(c.node);
    if (!n) return;
    n.usedCpu -= c.cpu;
    n.usedMemory -= c.memory;
    n.pods--;
    if (c.owner) n.byOwner.set(c.owner, Math.max(0, (n.byOwner.get(c.owner) ?? 1) - 1));
  }

  private observePod(p: KubeObject): void {
    const key = keyOf(p);
    if (isPodTerminal(p) || p.metadata.deletionTimestamp) {
      this.forget(key);
      return;
    }
    if (p.spec?.nodeName) {
      this.unschedulable.delete(key);
      this.count(key, p.spec.nodeName, p);
      return;
    }
    const name = p.spec?.schedulerName;
    if (!name || name === 'default-scheduler') this.queue.add(key);
  }

  private async schedule(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (
      !pod ||
      pod.spec?.nodeName ||
      pod.metadata.deletionTimestamp ||
      isPodTerminal(pod) ||
      this.counted.has(key)
    )
      return;
    const req = podRequest(pod);
    const owner = controllerUid(pod);
    let best: NodeInfo | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    const reasons = new Map<string, number>();
    for (const n of this.nodes.values()) {
      const ready = (n.node.status?.conditions ?? []).some(
        (c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True',
      );
      const why = ready ? unfitReason(pod, n, req) : 'node(s) were not ready';
      if (why) {
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
        continue;
      }
      const s = score(n, req, owner);
      if (s > bestScore) {
        bestScore = s;
        best = n;
      }
    }
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    if (!best) {
      this.unschedulable.add(key);
      const message = this.nodes.size
        ? unschedulableMessage(this.nodes.size, reasons)
        : 'no nodes available to schedule pods';
      const have = (pod.status?.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
      if (have?.message !== message) {
        await this.client
          .patchStatus(Resources.pods, ns, name, {
            status: {
              phase: 'Pending',
              conditions: [
                {
                  type: 'PodScheduled',
                  status: 'False',
                  reason: 'Unschedulable',
                  message,
                  lastTransitionTime: new Date().toISOString(),
                },
              ],
            },
          })
          .catch(() => {});
        this.event(pod, 'Warning', 'FailedScheduling', message);
      }
      return;
    }
    // Assume first, so the next decision already sees this pod on that node.
    const target = best.node.metadata.name!;
    this.count(key, target, pod);
    try {
      await this.client.bind(ns, name, target);
      this.unschedulable.delete(key);
      this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${target}`);
    } catch (e) {
      this.forget(key);
      log.debug('bind failed', { pod: key, err: e as Error });
      throw e;
    }
  }

  private event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    recordEvent(
      this.client,
      { ...pod, apiVersion: 'v1', kind: 'Pod' },
      type,
      reason,
      message,
      'default-scheduler',
    );
  }
}

/** The scheduler as a control-plane member, started by the controller manager. */
export const schedulerController: ControllerSpec = {
  name: 'scheduler',
  start(ctx) {
    const s = new Scheduler(ctx.client, ctx.informer(Resources.pods), ctx.informer(Resources.nodes));
    s.start();
    ctx.onStop(() => s.stop());
  },
};
