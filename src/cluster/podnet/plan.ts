/**
 * What one node's pod network should look like, as a pure function of the Nodes it sees:
 * for every other node with a pod CIDR, a route to that range either straight through the
 * peer's InternalIP (host-gw, when the peer sits on a directly connected subnet) or through
 * the VXLAN device (flannel's vxlan backend: VNI 1, UDP 8472, one FDB and one neighbour entry
 * per peer, from the VTEP MAC the peer publishes on its Node). The agent applies the plan
 * (netlink.ts) and the masquerade table (nft.ts); this file decides and never touches the node.
 */
import { createHash } from 'node:crypto';
import { invalidArgument } from '../../core/errors.js';
import { formatIPv4, parseCidr } from '../../engine/network/cidr.js';
import type { KubeObject } from '../client/kube-client.js';

export const backends = ['host-gw', 'vxlan', 'auto'] as const;
export type Backend = (typeof backends)[number];

/** flannel's Node annotations, so its tools (and people who know them) read ours. */
export const Annotations = {
  backendType: 'flannel.alpha.coreos.com/backend-type',
  backendData: 'flannel.alpha.coreos.com/backend-data',
  publicIP: 'flannel.alpha.coreos.com/public-ip',
  subnetManager: 'flannel.alpha.coreos.com/kube-subnet-manager',
} as const;

export const VNI = 1;
export const VXLAN_PORT = 8472;
/** The VXLAN device (flannel names it flannel.VNI). */
export const VXLAN_DEVICE = `berth.${VNI}`;
/** VXLAN over IPv4 adds 50 bytes: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;
/**
 * The routing protocol number stamped on every route the agent adds (`proto 195`): no routing
 * daemon in iproute2's list uses it, so the agent and `--cleanup` find exactly its own routes.
 */
export const ROUTE_PROTO = 195;

export function parseBackend(s: string): Backend {
  if ((backends as readonly string[]).includes(s)) return s as Backend;
  throw invalidArgument(`Invalid --flannel-backend "${s}": one of ${backends.join(', ')}`);
}

/** What the pod network needs to know about one node. */
export interface NodeNet {
  name: string;
  ip: string;
  podCidr: string;
  /** The MAC of its VXLAN device, when it has one. */
  vtepMac?: string;
}

/** Reads a Node: its InternalIP (or flannel's public-ip annotation), pod CIDR and VTEP MAC. */
export function nodeNetOf(n: KubeObject): NodeNet | undefined {
  const podCidr = n.spec?.podCIDR as string | undefined;
  const ann = n.metadata.annotations ?? {};
  const ip =
    ann[Annotations.publicIP] ??
    ((n.status?.addresses ?? []) as { type: string; address: string }[]).find((a) => a.type === 'InternalIP')
      ?.address;
  if (!podCidr || !ip) return undefined;
  let vtepMac: string | undefined;
  try {
    const data = JSON.parse(ann[Annotations.backendData] ?? 'null') as { VtepMAC?: unknown } | null;
    if (typeof data?.VtepMAC === 'string') vtepMac = data.VtepMAC;
  } catch {
    // A hand-edited annotation that is not JSON: the peer is treated as having no VTEP.
    vtepMac = undefined;
  }
  return { name: n.metadata.name ?? '', ip, podCidr, ...(vtepMac ? { vtepMac } : {}) };
}

/** The annotations a node publishes for its peers. */
export function annotationsFor(self: {
  ip: string;
  vtepMac?: string;
  backend: Backend;
}): Record<string, string> {
  return {
    [Annotations.backendType]: self.vtepMac ? 'vxlan' : 'host-gw',
    [Annotations.backendData]: self.vtepMac ? JSON.stringify({ VNI, VtepMAC: self.vtepMac }) : 'null',
    [Annotations.publicIP]: self.ip,
    [Annotations.subnetManager]: 'true',
  };
}

/**
 * The VTEP's MAC, derived from the node name (locally administered, unicast), so a restarted
 * agent keeps the MAC its peers already have in their FDBs.
 */
export function vtepMacFor(nodeName: string): string {
  const h = createHash('sha256').update(`berth-vtep:${nodeName}`).digest();
  h[0] = (h[0]! & 0xfe) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The VTEP address of a node: the network address of its pod CIDR (flannel's choice). */
export function vtepAddressOf(podCidr: string): string {
  return formatIPv4(parseCidr(podCidr).base);
}

export interface RouteSpec {
  dst: string;
  via: string;
  /** The VXLAN device for vxlan routes; host-gw routes leave the device to the kernel. */
  dev?: string;
  onlink?: boolean;
}

export interface VxlanPeer {
  /** The peer's VTEP address (neighbour entry) and MAC. */
  vtepIp: string;
  mac: string;
  /** Where the encapsulated packets go (FDB entry). */
  nodeIp: string;
}

export interface Plan {
  routes: RouteSpec[];
  vxlanPeers: VxlanPeer[];
  /** Peers the node cannot reach, and why (logged, never thrown). */
  unreachable: { node: string; reason: string }[];
}

/**
 * The routes and VXLAN entries for `self` given its peers. `direct(ip)` says whether a peer's
 * address is on a directly connected subnet (auto probes it with the kernel's route lookup).
 */
export function planRoutes(
  self: { name: string; backend: Backend },
  nodes: readonly NodeNet[],
  direct: (ip: string) => boolean,
): Plan {
  const plan: Plan = { routes: [], vxlanPeers: [], unreachable: [] };
  for (const p of [...nodes].sort((a, b) => a.name.localeCompare(b.name))) {
    if (p.name === self.name) continue;
    const isDirect = self.backend !== 'vxlan' && direct(p.ip);
    if (self.backend === 'host-gw' || (self.backend === 'auto' && isDirect)) {
      if (isDirect) plan.routes.push({ dst: p.podCidr, via: p.ip });
      else
        plan.unreachable.push({
          node: p.name,
          reason: `its address ${p.ip} is not on a directly connected subnet (host-gw needs one; use --flannel-backend vxlan or auto)`,
        });
      continue;
    }
    if (!p.vtepMac) {
      plan.unreachable.push({ node: p.name, reason: 'it publishes no VTEP MAC (its backend is host-gw)' });
      continue;
    }
    const vtepIp = vtepAddressOf(p.podCidr);
    plan.routes.push({ dst: p.podCidr, via: vtepIp, dev: VXLAN_DEVICE, onlink: true });
    plan.vxlanPeers.push({ vtepIp, mac: p.vtepMac, nodeIp: p.ip });
  }
  return plan;
}
