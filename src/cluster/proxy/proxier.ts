/**
 * The node's Service proxy (kube-proxy's job): watches every Service and EndpointSlice and
 * keeps the node's rules equal to what they say. Level-triggered: any change queues one key,
 * and a burst of changes while rules are being applied is applied once after (the work
 * queue coalesces). Each apply writes the whole table in one transaction; flows of UDP
 * Services whose endpoints went away are flushed from conntrack, since UDP has no
 * connection end that would make the kernel forget them.
 */
import { logger } from '../../core/log.js';
import { Informer } from '../client/informer.js';
import { type KubeClient, Resources } from '../client/kube-client.js';
import { WorkQueue } from '../client/work-queue.js';
import { defaultClusterCidr } from '../controllers/node-ipam.js';
import { flushConntrack, NftBackend } from './nft-backend.js';
import { proxyRules, type RuleSet } from './nft-rules.js';
import { type ServicePort, servicePorts } from './service-ports.js';

const log = logger('proxy');

export interface ServiceProxyOptions {
  client: KubeClient;
  nodeName: string;
  /** Pod addresses (--cluster-cidr); default 10.42.0.0/16. */
  clusterCidr?: string;
  /** Applies rule sets (default: nftables). */
  backend?: { apply(rules: RuleSet): Promise<void> };
  /** Deletes conntrack entries matching conntrack's filter options (default: `conntrack -D`). */
  conntrack?: (filter: string[]) => Promise<void>;
}

/** The conntrack filters for UDP flows that `next` no longer routes as `prev` did. */
export function staleUdpFlows(prev: readonly ServicePort[], next: readonly ServicePort[]): string[][] {
  const before = new Map(prev.filter((p) => p.protocol === 'udp').map((p) => [p.id, p]));
  const out: string[][] = [];
  for (const p of next) {
    if (p.protocol !== 'udp') continue;
    const old = before.get(p.id);
    const dests = (q: ServicePort) => [
      ...[q.clusterIP, ...q.externalIPs].map((ip) => ['--orig-dst', ip, '--orig-port-dst', String(q.port)]),
      ...(q.nodePort !== undefined ? [['--orig-port-dst', String(q.nodePort)]] : []),
    ];
    if (old && old.endpoints.length === 0 && p.endpoints.length > 0) {
      // Flows made while it had no endpoint were refused, but a client's next packets may
      // still match an entry that translates nothing: start afresh.
      for (const d of dests(p)) out.push(['-p', 'udp', ...d]);
      continue;
    }
    if (!old) continue;
    const still = new Set(p.endpoints.map((e) => e.ip));
    for (const e of old.endpoints)
      if (!still.has(e.ip)) for (const d of dests(old)) out.push(['-p', 'udp', ...d, '--dst-nat', e.ip]);
  }
  // Services that went altogether: their flows point at endpoints that no rule names now.
  const ids = new Set(next.map((p) => p.id));
  for (const [id, old] of before)
    if (!ids.has(id))
      for (const e of old.endpoints) out.push(['-p', 'udp', '--orig-dst', old.clusterIP, '--dst-nat', e.ip]);
  return out;
}

export class ServiceProxy {
  private readonly services: Informer;
  private readonly slices: Informer;
  private readonly queue: WorkQueue;
  private readonly backend: { apply(rules: RuleSet): Promise<void> };
  private readonly conntrack: (filter: string[]) => Promise<void>;
  private current: ServicePort[] = [];

  constructor(private readonly opts: ServiceProxyOptions) {
    this.services = new Informer(opts.client, Resources.services);
    this.slices = new Informer(opts.client, Resources.endpointslices);
    this.backend = opts.backend ?? new NftBackend();
    this.conntrack = opts.conntrack ?? flushConntrack;
    this.queue = new WorkQueue(() => this.sync(), { name: 'service-proxy', workers: 1, paused: true });
    const changed = () => this.queue.add('rules');
    for (const inf of [this.services, this.slices]) inf.onAdd(changed).onUpdate(changed).onDelete(changed);
  }

  /** Starts watching; rules are first applied once both caches are full. */
  start(): this {
    this.services.start();
    this.slices.start();
    void Promise.all([this.services.hasSynced(), this.slices.hasSynced()]).then(() => {
      this.queue.add('rules');
      this.queue.start();
    });
    return this;
  }

  stop(): void {
    this.queue.stop();
    this.services.stop();
    this.slices.stop();
  }

  private async sync(): Promise<void> {
    const started = performance.now();
    const next = servicePorts(this.services.list(), this.slices.list(), this.opts.nodeName);
    const rules = proxyRules(next, { clusterCidr: this.opts.clusterCidr ?? defaultClusterCidr });
    const computed = performance.now();
    await this.backend.apply(rules);
    const stale = staleUdpFlows(this.current, next);
    this.current = next;
    for (const f of stale) await this.conntrack(f);
    log.debug('service rules applied', {
      ports: next.length,
      computeMs: Math.round(computed - started),
      applyMs: Math.round(performance.now() - computed),
    });
  }
}
