import { logger } from '../../core/log.js';
import type { EventRecorder } from '../client/events.js';
import type { Informer } from '../client/informer.js';
import { keyOf } from '../client/informer.js';
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { Resources } from '../client/kube-client.js';
import type { WorkQueue } from '../client/work-queue.js';
import type { ControllerSpec } from '../controllers/context.js';
import { controllerUid, isPodTerminal } from '../controllers/pods.js';
import { claimRefFor, SELECTED_NODE, volumeCaches } from '../controllers/volume-match.js';
import {
  type NodeInfo,
  nodeInfo,
  podHostPorts,
  podRequest,
  score,
  unfitReason,
  unschedulableMessage,
} from './fit.js';
import { preferredNodeScore } from './node-affinity.js';
import { InterPod, type Placed, usesInterPod } from './pod-affinity.js';
import { planVolumes, type VolumeCaches } from './volumes.js';

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
  /** The nodes as an array (rebuilt when nodes join or leave), and where the next search starts. */
  private nodeArray?: NodeInfo[];
  private nextStart = 0;
  /** Pod key -> the node its usage is counted on. */
  private readonly counted = new Map<
    string,
    { node: string; cpu: number; memory: number; owner?: string; ports: string[] }
  >();
  /** Placed pods with required anti-affinity: every new pod is checked against them. */
  private readonly antiPods = new Set<string>();
  private readonly queue: WorkQueue;
  private readonly unschedulable = new Set<string>();
  /**
   * Pods that preempted others and wait for the room on their nominated node. As in
   * kube-scheduler, pods of no higher priority see that room as taken: otherwise a victim's
   * replacement, created the moment the victim goes, takes the room back first.
   */
  private readonly nominated = new Map<
    string,
    { node: string; cpu: number; memory: number; priority: number }
  >();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly client: KubeClient,
    private readonly pods: Informer,
    nodeInformer: Informer,
    makeQueue: (sync: (key: string) => Promise<void>, workers: number) => WorkQueue,
    private readonly recorder: EventRecorder,
    private readonly volumes?: VolumeCaches,
  ) {
    // Decisions are made one at a time (all synchronous up to the first API call, so each sees
    // the pods the ones before it assumed); binds are in flight together, as kube-scheduler's
    // binding cycles are: with a few ms per bind, 8 at once would cap the rate near 500/s.
    this.queue = makeQueue((key) => this.schedule(key), 32);
    nodeInformer
      .onAdd((n) => this.upsertNode(n))
      .onUpdate((n) => this.upsertNode(n))
      .onDelete((n) => {
        this.nodes.delete(n.metadata.name!);
        this.nodeArray = undefined;
      });
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
      info.hostPorts = prev.hostPorts;
    }
    this.nodes.set(name, info);
    this.nodeArray = undefined;
    if (!prev) this.retryUnschedulable();
  }

  private nodeList(): NodeInfo[] {
    this.nodeArray ??= [...this.nodes.values()];
    return this.nodeArray;
  }

  /** Queues every pod that fit nowhere, for when something they wait for may have changed. */
  retryUnschedulable(): void {
    for (const k of this.unschedulable) this.queue.add(k);
  }

  private count(key: string, nodeName: string, pod: KubeObject): void {
    if (this.counted.has(key)) return;
    const req = podRequest(pod);
    const owner = controllerUid(pod);
    const ports = podHostPorts(pod);
    this.counted.set(key, { node: nodeName, ...req, owner, ports });
    if (pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length)
      this.antiPods.add(key);
    const n = this.nodes.get(nodeName);
    if (!n) return;
    n.usedCpu += req.cpu;
    n.usedMemory += req.memory;
    n.pods++;
    if (owner) n.byOwner.set(owner, (n.byOwner.get(owner) ?? 0) + 1);
    for (const hp of ports) n.hostPorts.set(hp, (n.hostPorts.get(hp) ?? 0) + 1);
  }

  private forget(key: string): void {
    const c = this.counted.get(key);
    this.unschedulable.delete(key);
    this.nominated.delete(key);
    if (!c) return;
    this.counted.delete(key);
    this.antiPods.delete(key);
    const n = this.nodes.get(c.node);
    if (!n) return;
    n.usedCpu -= c.cpu;
    n.usedMemory -= c.memory;
    n.pods--;
    if (c.owner) n.byOwner.set(c.owner, Math.max(0, (n.byOwner.get(c.owner) ?? 1) - 1));
    for (const hp of c.ports) n.hostPorts.set(hp, Math.max(0, (n.hostPorts.get(hp) ?? 1) - 1));
  }

  private observePod(p: KubeObject): void {
    const key = keyOf(p);
    if (isPodTerminal(p) || p.metadata.deletionTimestamp) {
      this.forget(key);
      return;
    }
    if (p.spec?.nodeName) {
      this.unschedulable.delete(key);
      this.nominated.delete(key);
      this.count(key, p.spec.nodeName, p);
      return;
    }
    const nominatedNode = p.status?.nominatedNodeName;
    if (nominatedNode) this.nominate(key, nominatedNode, p);
    else this.nominated.delete(key);
    const name = p.spec?.schedulerName;
    if (!name || name === 'default-scheduler') this.queue.add(key);
  }

  private nominate(key: string, node: string, pod: KubeObject): void {
    this.nominated.set(key, { node, ...podRequest(pod), priority: Number(pod.spec?.priority ?? 0) });
  }

  /**
   * The node as a pod of this priority sees it: with the room held for nominated pods of equal
   * or higher priority added to its usage (the same node object when nothing is held there).
   */
  private withNominated(n: NodeInfo, key: string, priority: number): NodeInfo {
    if (this.nominated.size === 0) return n;
    const name = n.node.metadata.name!;
    let view: NodeInfo | undefined;
    for (const [k, r] of this.nominated) {
      if (k === key || r.node !== name || r.priority < priority) continue;
      view ??= { ...n };
      view.usedCpu += r.cpu;
      view.usedMemory += r.memory;
      view.pods++;
    }
    return view ?? n;
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
    const inter = this.interPod(pod);
    const vol = this.volumes ? planVolumes(pod, this.volumes) : undefined;
    const ports = podHostPorts(pod);
    const priority = Number(pod.spec?.priority ?? 0);
    let best: NodeInfo | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    const reasons = new Map<string, number>();
    // Like kube-scheduler's percentageOfNodesToScore: in a big cluster, stop after enough
    // feasible nodes (50% less 1% per 125 nodes, at least 5% and 100 nodes), starting each
    // search where the last one stopped, so every node gets its turn.
    const all = this.nodeList();
    const total = all.length;
    const pct = Math.max(5, 50 - Math.floor(total / 125));
    const enough = total <= 100 ? total : Math.max(100, Math.floor((total * pct) / 100));
    let feasible = 0;
    let visited = 0;
    for (; visited < total && feasible < enough && !vol?.everywhere; visited++) {
      const n = this.withNominated(all[(this.nextStart + visited) % total]!, key, priority);
      const why = n.ready
        ? (unfitReason(pod, n, req, ports) ?? inter?.unfit(n.node) ?? vol?.unfit(n.node))
        : 'node(s) were not ready';
      if (why) {
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
        continue;
      }
      feasible++;
      const s = score(n, req, owner) + preferredNodeScore(pod.spec, n.node) + (inter?.score(n.node) ?? 0);
      if (s > bestScore) {
        bestScore = s;
        best = n;
      }
    }
    if (total) this.nextStart = (this.nextStart + visited) % total;
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    if (!best) {
      this.unschedulable.add(key);
      const message = !this.nodes.size
        ? 'no nodes available to schedule pods'
        : vol?.everywhere
          ? `0/${this.nodes.size} nodes are available: ${vol.everywhere}.`
          : unschedulableMessage(this.nodes.size, reasons);
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
          // The pod stays queued as unschedulable either way; its condition is what kubectl shows.
          .catch((e: unknown) =>
            log.warn('recording an unschedulable pod failed', { pod: key, err: e as Error }),
          );
        this.event(pod, 'Warning', 'FailedScheduling', message);
      }
      if (!vol?.everywhere) await this.preempt(pod, req, inter);
      return;
    }
    // Assume first, so the next decision already sees this pod on that node.
    const target = best.node.metadata.name!;
    this.count(key, target, pod);
    try {
      // WaitForFirstConsumer claims: pre-bind the chosen volumes (compare-and-set, so a volume
      // another pod took meanwhile fails this attempt) and record the node on each claim.
      for (const { claim, volume } of vol?.choose(best.node) ?? []) {
        if (volume)
          await this.client.update(Resources.persistentvolumes, {
            ...volume,
            spec: {
              ...volume.spec,
              claimRef: claimRefFor(claim),
            },
          });
        await this.client.patch(
          Resources.persistentvolumeclaims,
          claim.metadata.namespace,
          claim.metadata.name!,
          {
            metadata: { annotations: { [SELECTED_NODE]: target } },
          },
        );
      }
      await this.client.bind(ns, name, target);
      this.unschedulable.delete(key);
      this.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${target}`);
    } catch (e) {
      this.forget(key);
      log.debug('bind failed', { pod: key, err: e as Error });
      throw e;
    }
  }

  /** The inter-pod rules for this pod, when it or a placed pod has any (else undefined: no cost). */
  private interPod(pod: KubeObject): InterPod | undefined {
    if (!usesInterPod(pod) && this.antiPods.size === 0) return undefined;
    const placed: Placed[] = [];
    const withAnti: Placed[] = [];
    const full = usesInterPod(pod);
    for (const [k, c] of this.counted) {
      if (!full && !this.antiPods.has(k)) continue;
      const p = this.pods.get(k);
      const n = this.nodes.get(c.node);
      if (!p || !n) continue;
      placed.push({ pod: p, node: n.node });
      if (this.antiPods.has(k)) withAnti.push({ pod: p, node: n.node });
    }
    return new InterPod(
      pod,
      full ? placed : [],
      [...this.nodes.values()].map((n) => n.node),
      withAnti,
    );
  }

  /**
   * Preemption (after kube-scheduler's default preemption): find the node where evicting the
   * fewest pods of lower priority (then the lowest-priority ones) makes room, delete those
   * pods, and nominate the node; the pod is placed when the room is really there.
   */
  private async preempt(
    pod: KubeObject,
    req: ReturnType<typeof podRequest>,
    inter: InterPod | undefined,
  ): Promise<void> {
    const priority = Number(pod.spec?.priority ?? 0);
    if (pod.spec?.preemptionPolicy === 'Never') return;
    // Like kube-scheduler's PodEligibleToPreemptOthers: while victims on the nominated node are
    // still terminating, wait for them; once they are gone and the pod still does not fit
    // (someone else took the room), it may preempt again.
    const nominatedNode = pod.status?.nominatedNodeName ?? this.nominated.get(keyOf(pod))?.node;
    if (nominatedNode && this.terminatingBelow(nominatedNode, priority)) return;
    const byNode = new Map<string, { key: string; pod: KubeObject; cpu: number; memory: number }[]>();
    for (const [k, c] of this.counted) {
      const p = this.pods.get(k);
      if (!p || Number(p.spec?.priority ?? 0) >= priority) continue;
      byNode.set(c.node, [...(byNode.get(c.node) ?? []), { key: k, pod: p, cpu: c.cpu, memory: c.memory }]);
    }
    let choice: { node: NodeInfo; victims: KubeObject[]; worst: number } | undefined;
    for (const n of this.nodes.values()) {
      if (!n.ready) continue;
      const lower = (byNode.get(n.node.metadata.name!) ?? []).sort(
        (a, b) => Number(a.pod.spec?.priority ?? 0) - Number(b.pod.spec?.priority ?? 0),
      );
      if (lower.length === 0) continue;
      // Would the pod fit with some of them gone? Only resource shortages can be preempted away.
      const trial: NodeInfo = { ...this.withNominated(n, keyOf(pod), priority) };
      const victims: KubeObject[] = [];
      let fits = false;
      for (const v of [undefined, ...lower]) {
        if (v) {
          trial.usedCpu -= v.cpu;
          trial.usedMemory -= v.memory;
          trial.pods--;
          victims.push(v.pod);
        }
        const why = unfitReason(pod, trial, req) ?? inter?.unfit(n.node);
        if (!why) {
          fits = true;
          break;
        }
        if (!['Insufficient cpu', 'Insufficient memory', 'Too many pods'].includes(why)) break;
      }
      if (!fits || victims.length === 0) continue;
      const worst = Math.max(...victims.map((v) => Number(v.spec?.priority ?? 0)));
      if (
        !choice ||
        victims.length < choice.victims.length ||
        (victims.length === choice.victims.length && worst < choice.worst)
      )
        choice = { node: n, victims, worst };
    }
    if (!choice) return;
    const target = choice.node.node.metadata.name!;
    // Hold the room now: the victims' replacements may be created before the status patch is seen.
    this.nominate(keyOf(pod), target, pod);
    for (const v of choice.victims) {
      this.event(v, 'Normal', 'Preempted', `Preempted by pod ${pod.metadata.uid} on node ${target}`);
      await this.client
        .delete(Resources.pods, v.metadata.namespace, v.metadata.name!, { uid: v.metadata.uid })
        // A victim already gone frees its room as well; the retry below sees what is left.
        .catch((e: unknown) =>
          log.debug('deleting a preemption victim failed', { pod: keyOf(v), err: e as Error }),
        );
    }
    await this.client
      .patchStatus(Resources.pods, pod.metadata.namespace, pod.metadata.name!, {
        status: { nominatedNodeName: target },
      })
      // The nomination held in memory above is what this scheduler acts on; the status only shows it.
      .catch((e: unknown) =>
        log.debug('recording the nominated node failed', { pod: keyOf(pod), err: e as Error }),
      );
    // Try again once the victims are gone (their deletions also requeue through node changes).
    this.queue.addAfter(keyOf(pod), 500);
  }

  /** Some pod of lower priority on this node is still terminating. */
  private terminatingBelow(node: string, priority: number): boolean {
    for (const p of this.pods.list())
      if (
        p.spec?.nodeName === node &&
        p.metadata.deletionTimestamp &&
        !isPodTerminal(p) &&
        Number(p.spec?.priority ?? 0) < priority
      )
        return true;
    return false;
  }

  private event(pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.recorder.record({ ...pod, apiVersion: 'v1', kind: 'Pod' }, type, reason, message);
  }
}

/** The scheduler as a control-plane member, started by the controller manager. */
export const schedulerController: ControllerSpec = {
  name: 'scheduler',
  start(ctx) {
    const claims = ctx.informer(Resources.persistentvolumeclaims);
    const volumes = ctx.informer(Resources.persistentvolumes);
    const classes = ctx.informer(Resources.storageclasses);
    const s = new Scheduler(
      ctx.client,
      ctx.informer(Resources.pods),
      ctx.informer(Resources.nodes),
      (sync, workers) => ctx.queue(sync, workers),
      ctx.recorder('default-scheduler'),
      volumeCaches(ctx),
    );
    // Pods waiting for a claim or a volume may fit once those change.
    const retry = () => s.retryUnschedulable();
    claims.onAdd(retry).onUpdate(retry);
    volumes.onAdd(retry).onUpdate(retry).onDelete(retry);
    classes.onAdd(retry);
    s.start();
    ctx.onStop(() => s.stop());
  },
};
