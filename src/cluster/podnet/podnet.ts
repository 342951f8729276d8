/**
 * The pod network across nodes (flannel's job, run inside the agent): watches every Node,
 * prepares this node once it has its pod CIDR (IP forwarding, the VXLAN device unless the
 * backend is host-gw, the annotations its peers read), then keeps its routes, VXLAN entries
 * and masquerade table in line with the Nodes it sees: a node that joins is routed to, one
 * that leaves takes its routes with it. `ready()` gives the MTU the CNI bridge must use.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../core/atomic-file.js';
import { run } from '../../core/exec.js';
import { logger } from '../../core/log.js';
import { Informer } from '../client/informer.js';
import { type KubeClient, type KubeObject, Resources } from '../client/kube-client.js';
import { applyPlan, deleteOwnRoutes, deleteVxlan, ensureVxlan, isDirect, linkOf } from './netlink.js';
import { applyRuleset, deleteTable, rulesetFor } from './nft.js';
import {
  Annotations,
  annotationsFor,
  type Backend,
  type NodeNet,
  nodeNetOf,
  planRoutes,
  VXLAN_OVERHEAD,
  vtepAddressOf,
  vtepMacFor,
} from './plan.js';

const log = logger('podnet');

export interface PodNetworkOptions {
  client: KubeClient;
  nodeName: string;
  nodeIP: string;
  backend: Backend;
  /** Where the node's pod network is recorded for `--cleanup` (under the runroot). */
  stateDir: string;
  /** How often everything is checked again even without a change (repairs drift). */
  resyncMs?: number;
}

/** What `--cleanup` needs to find again. */
interface PodNetState {
  podCidr: string;
  backend: Backend;
  mtu: number;
}

const stateFile = (dir: string) => join(dir, 'podnet.json');

/** The pod network's state folder under the engine runroot (gone with the machine's network state). */
export const podNetStateDir = (runroot: string) => join(runroot, 'podnet');

export class PodNetwork {
  private readonly nodes: Informer;
  private readonly readyP: Promise<{ mtu: number }>;
  private resolveReady!: (v: { mtu: number }) => void;
  private synced = false;
  private running = false;
  private pending = false;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  private resync?: NodeJS.Timeout;
  private lastRules = '';
  private lastUnreachable = '';

  constructor(private readonly o: PodNetworkOptions) {
    this.readyP = new Promise((r) => {
      this.resolveReady = r;
    });
    this.nodes = new Informer(o.client, Resources.nodes);
    const kick = () => this.kick();
    // Status heartbeats change nothing here; only what the plan or the annotations read does.
    const relevant = (n: KubeObject) =>
      JSON.stringify([nodeNetOf(n), Object.values(Annotations).map((k) => n.metadata.annotations?.[k])]);
    this.nodes
      .onAdd(kick)
      .onUpdate((n, old) => {
        if (!old || relevant(n) !== relevant(old)) kick();
      })
      .onDelete(kick);
  }

  start(): this {
    this.nodes.start();
    void this.nodes.hasSynced().then(() => {
      this.synced = true;
      this.kick();
    });
    this.resync = setInterval(() => this.kick(), this.o.resyncMs ?? 60_000);
    this.resync.unref();
    return this;
  }

  /** Resolves once the node is prepared, with the MTU for the pod bridge. */
  ready(): Promise<{ mtu: number }> {
    return this.readyP;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.resync);
    this.nodes.stop();
  }

  /** Runs one sync at a time; changes that arrive meanwhile fold into one more. */
  private kick(): void {
    if (this.stopped || !this.synced) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    this.running = true;
    clearTimeout(this.retry);
    void this.sync()
      .catch((e) => {
        log.warn('pod network not synced; trying again in 5 s', { node: this.o.nodeName, err: e as Error });
        this.retry = setTimeout(() => this.kick(), 5000);
        this.retry.unref();
      })
      .finally(() => {
        this.running = false;
        if (this.pending) {
          this.pending = false;
          this.kick();
        }
      });
  }

  private async sync(): Promise<void> {
    const { nodeName, backend } = this.o;
    const self = this.nodes.get(nodeName);
    const podCidr = self?.spec?.podCIDR as string | undefined;
    if (!self || !podCidr) return;
    const { mtu } = await this.prepare(podCidr);
    const wantAnn = annotationsFor({
      ip: this.o.nodeIP,
      backend,
      ...(backend !== 'host-gw' ? { vtepMac: vtepMacFor(nodeName) } : {}),
    });
    const have = self.metadata.annotations ?? {};
    if (Object.entries(wantAnn).some(([k, v]) => have[k] !== v))
      await this.o.client.patch(Resources.nodes, undefined, nodeName, { metadata: { annotations: wantAnn } });
    this.resolveReady({ mtu });

    const nets = this.nodes
      .list()
      .map(nodeNetOf)
      .filter((n): n is NodeNet => !!n);
    const direct = new Map<string, boolean>();
    if (backend !== 'vxlan')
      for (const n of nets) if (n.name !== nodeName) direct.set(n.ip, await isDirect(n.ip));
    const plan = planRoutes({ name: nodeName, backend }, nets, (ip) => direct.get(ip) ?? false);
    const changed = await applyPlan(plan, backend !== 'host-gw');
    const rules = rulesetFor(
      podCidr,
      nets.map((n) => n.podCidr),
    );
    if (rules !== this.lastRules) {
      await applyRuleset(rules);
      this.lastRules = rules;
      changed.push('masquerade rules');
    }
    if (changed.length) log.info('pod network updated', { node: nodeName, changes: changed.join('; ') });
    const unreachable = plan.unreachable.map((u) => `${u.node}: ${u.reason}`).join('; ');
    if (unreachable && unreachable !== this.lastUnreachable)
      log.warn('pod ranges of some nodes cannot be routed', { node: nodeName, nodes: unreachable });
    this.lastUnreachable = unreachable;
  }

  /** IP forwarding, the VXLAN device and the state file; safe to repeat. */
  private async prepare(podCidr: string): Promise<{ mtu: number }> {
    const { backend, nodeName, nodeIP } = this.o;
    // The node forwards between its pod bridge and its links (per network namespace).
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');
    const link = await linkOf(nodeIP);
    const mtu = backend === 'host-gw' ? link.mtu : link.mtu - VXLAN_OVERHEAD;
    mkdirSync(this.o.stateDir, { recursive: true, mode: 0o700 });
    const state: PodNetState = { podCidr, backend, mtu };
    writeFileAtomicSync(stateFile(this.o.stateDir), JSON.stringify(state), { mode: 0o600 });
    if (backend !== 'host-gw')
      await ensureVxlan({
        mac: vtepMacFor(nodeName),
        localIP: nodeIP,
        link,
        vtepAddress: vtepAddressOf(podCidr),
        mtu,
      });
    return { mtu };
  }
}

/**
 * Removes what the pod network added to this node: its routes, the VXLAN device (with its
 * FDB and neighbour entries), the nftables table, the conntrack entries of the node's pod
 * range, and the state file. Returns what it removed, for the command to print.
 */
export async function cleanupPodNetwork(stateDir: string): Promise<string[]> {
  const done: string[] = [];
  const routes = await deleteOwnRoutes();
  if (routes) done.push(`${routes} route(s) to other nodes' pods`);
  if (await deleteVxlan()) done.push('the VXLAN device');
  if (await deleteTable()) done.push('the masquerade table');
  let state: PodNetState | undefined;
  try {
    state = JSON.parse(readFileSync(stateFile(stateDir), 'utf8')) as PodNetState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (state) {
    let flows = 0;
    for (const dir of ['-s', '-d']) {
      // conntrack exits 1 when nothing matched; the count is in its message either way.
      const r = await run('conntrack', ['-D', dir, state.podCidr], { check: false });
      flows += Number(/(\d+) flow entries/.exec(r.stderr)?.[1] ?? 0);
    }
    if (flows) done.push(`${flows} conntrack entries`);
    rmSync(stateFile(stateDir), { force: true });
  }
  return done;
}
