/**
 * The node's NetworkPolicy enforcement (kube-router's network policy controller, as k3s runs
 * it in every agent): watches every NetworkPolicy, Pod and Namespace of the cluster (pods and
 * namespaces from the first policy on) and keeps the node's nftables tables equal to what they
 * say for this node's pods. Level-triggered:
 * any change that matters queues one key, one worker computes the whole tables from the
 * caches and applies them (a burst of changes during an apply is applied once after), and a
 * failed apply is retried with back-off.
 */
import { logger } from '../../core/log.js';
import { Informer } from '../client/informer.js';
import { type KubeClient, type KubeObject, type Resource, Resources } from '../client/kube-client.js';
import { WorkQueue } from '../client/work-queue.js';
import { bridgedFramesReachIpHooks, NetpolBackend, type Tables } from './nft-backend.js';
import { netpolTables, type SetShape } from './nft-rules.js';
import { readPolicy } from './policy.js';
import { readNamespace, readPod, Selection } from './selection.js';

const log = logger('netpol');

export const networkPolicies: Resource = {
  base: '/apis/networking.k8s.io/v1',
  plural: 'networkpolicies',
  namespaced: true,
};

export interface NetworkPolicyOptions {
  client: KubeClient;
  nodeName: string;
  /** Applies the tables (default: nftables in the agent's network namespace). */
  backend?: Backend;
  /** Whether bridged frames reach the IP hooks (default: read from /proc). */
  bridgedFramesReachIpHooks?: () => boolean;
}

/** What the enforcer needs of nftables (a seam for tests). */
export interface Backend {
  apply(tables: Tables): Promise<boolean>;
  /** The set shape nft and the kernel take (default: `concatenated`). */
  setShape?(): Promise<SetShape>;
}

/** What of a pod the rules depend on; other changes (conditions, container states) are ignored. */
const podFacts = (o: KubeObject | undefined) => JSON.stringify(o && readPod(o));
const nsFacts = (o: KubeObject | undefined) => JSON.stringify(o?.metadata?.labels ?? {});

export class NetworkPolicyEnforcer {
  private readonly policies: Informer;
  private readonly pods: Informer;
  private readonly namespaces: Informer;
  private readonly queue: WorkQueue;
  private readonly backend: Backend;

  constructor(private readonly opts: NetworkPolicyOptions) {
    this.policies = new Informer(opts.client, networkPolicies);
    this.pods = new Informer(opts.client, Resources.pods);
    this.namespaces = new Informer(opts.client, Resources.namespaces);
    this.backend = opts.backend ?? new NetpolBackend();
    this.queue = new WorkQueue(() => this.sync(), { name: 'network-policy', workers: 1, paused: true });
    const changed = () => this.queue.add('rules');
    this.policies.onAdd(changed).onUpdate(changed).onDelete(changed);
    // With no policy in the cluster the tables isolate no one, whatever the pods and
    // namespaces are: their changes (every pod's start, each recomputing the tables from
    // every pod) wait for the first policy, whose own change computes them.
    const matters = () => this.policies.list().length > 0;
    const changedIfPolicies = () => matters() && changed();
    this.pods
      .onAdd(changedIfPolicies)
      .onDelete(changedIfPolicies)
      .onUpdate((o, old) => matters() && podFacts(o) !== podFacts(old) && changed());
    this.namespaces
      .onAdd(changedIfPolicies)
      .onDelete(changedIfPolicies)
      .onUpdate((o, old) => matters() && nsFacts(o) !== nsFacts(old) && changed());
  }

  /**
   * Starts watching; rules are first applied once the policies' cache is full. Pods and
   * namespaces are watched from the first policy on: until then the tables do not depend on
   * them, and a watch of every pod cost this process the decoding of each pod's every change
   * (several per pod start) for nothing.
   */
  start(): this {
    this.policies.start();
    void this.policies.hasSynced().then(() => {
      this.queue.add('rules');
      this.queue.start();
    });
    return this;
  }

  /** Whether pods and namespaces are watched yet. */
  private peers?: Promise<unknown>;

  /** Starts watching pods and namespaces (once); resolves when both caches are full. */
  private watchPeers(): Promise<unknown> {
    if (!this.peers) {
      this.pods.start();
      this.namespaces.start();
      this.peers = Promise.all([this.pods.hasSynced(), this.namespaces.hasSynced()]);
    }
    return this.peers;
  }

  stop(): void {
    this.queue.stop();
    this.policies.stop();
    this.pods.stop();
    this.namespaces.stop();
  }

  /** The tables for the caches as they are now (for tests and the sync). */
  tables(bridgeFallback: boolean, shape: SetShape = 'concatenated'): Tables {
    const pods = this.pods.list().flatMap((p) => readPod(p) ?? []);
    const selection = new Selection(pods, this.namespaces.list().map(readNamespace));
    return netpolTables({
      // In name order, so the same policies always make the same text (an unchanged one is not applied).
      policies: this.policies
        .list()
        .map(readPolicy)
        .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)),
      selection,
      nodeName: this.opts.nodeName,
      bridgeFallback,
      shape,
    });
  }

  private async sync(): Promise<void> {
    if (this.policies.list().length > 0) await this.watchPeers();
    const shape = (await this.backend.setShape?.()) ?? 'concatenated';
    const started = performance.now();
    const reach = this.opts.bridgedFramesReachIpHooks ?? (() => bridgedFramesReachIpHooks());
    const tables = this.tables(!reach(), shape);
    const computed = performance.now();
    const written = await this.backend.apply(tables);
    log.debug('network policy rules', {
      written,
      computeMs: Math.round(computed - started),
      applyMs: Math.round(performance.now() - computed),
    });
  }
}
