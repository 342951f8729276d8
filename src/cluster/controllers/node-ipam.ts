/**
 * Pod address ranges for nodes (kube-controller-manager's node IPAM with the range
 * allocator, as k3s runs it): each node without `spec.podCIDR` gets the first free /24 of
 * `--cluster-cidr` (default 10.42.0.0/16). When the range is used up the node gets none and
 * an event says so (CIDRNotAvailable), as upstream.
 */
import { invalidArgument } from '../../core/errors.js';
import { type KubeObject, Resources } from '../client/kube-client.js';
import type { ControllerSpec } from './context.js';

export const defaultClusterCidr = '10.42.0.0/16';
const nodeMask = 24;

const toInt = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** Checks an IPv4 CIDR that can hold /24s; returns its base and prefix length. */
export function parseClusterCidr(cidr: string): { base: number; bits: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  const bits = m ? Number(m[2]) : -1;
  if (!m || m[1]!.split('.').some((o) => Number(o) > 255) || bits < 8 || bits > nodeMask)
    throw invalidArgument(`Invalid --cluster-cidr "${cidr}": an IPv4 CIDR from /8 to /${nodeMask} is needed`);
  const size = 2 ** (32 - bits);
  return { base: Math.floor(toInt(m[1]!) / size) * size, bits };
}

/** The first /24 of `cidr` not in `used`, or undefined when all are taken. */
export function nextPodCidr(cidr: string, used: Set<string>): string | undefined {
  const { base, bits } = parseClusterCidr(cidr);
  const count = 2 ** (nodeMask - bits);
  for (let i = 0; i < count; i++) {
    const c = `${toIp(base + i * 256)}/${nodeMask}`;
    if (!used.has(c)) return c;
  }
  return undefined;
}

export const nodeIpamController: ControllerSpec = {
  name: 'nodeipam',
  start(ctx) {
    const cidr = ctx.options.clusterCidr ?? defaultClusterCidr;
    const nodes = ctx.informer(Resources.nodes);
    const events = ctx.recorder('cidrAllocator');
    // Given out by this process but perhaps not yet seen in the cache, by node.
    const given = new Map<string, string>();
    const told = new Set<string>();
    const q = ctx.queue(async (name) => {
      for (const [n, c] of given) {
        const seen = nodes.get(n);
        if (!seen || seen.spec?.podCIDR === c) given.delete(n);
      }
      const node = nodes.get(name);
      if (!node || node.spec?.podCIDR || given.has(name)) return;
      const used = new Set(given.values());
      for (const n of nodes.list()) if (n.spec?.podCIDR) used.add(n.spec.podCIDR as string);
      const next = nextPodCidr(cidr, used);
      if (!next) {
        // Once per node and process: every status update of it would say the same again.
        if (!told.has(name))
          events.record(node, 'Normal', 'CIDRNotAvailable', `Node ${name} status is now: CIDRNotAvailable`);
        told.add(name);
        return;
      }
      await ctx.client.patch(Resources.nodes, undefined, name, { spec: { podCIDR: next, podCIDRs: [next] } });
      given.set(name, next);
    }, 1);
    const add = (n: KubeObject) => {
      if (!n.spec?.podCIDR && !told.has(n.metadata.name!)) q.add(n.metadata.name!);
    };
    nodes
      .onAdd(add)
      .onUpdate(add)
      .onDelete((n) => {
        // A node that goes frees its range: those that found none try again.
        if (!n.spec?.podCIDR) return;
        for (const waiting of told) q.add(waiting);
        told.clear();
      });
  },
};
