/**
 * The node's side of the pod network through iproute2 (`ip -j`, `bridge -j`): the link that
 * carries the node's address, the VXLAN device, and the routes, neighbour and FDB entries of
 * a plan. Every route carries ROUTE_PROTO and every entry sits on the agent's own VXLAN
 * device, so syncing and cleaning up only ever touch what the agent made.
 */

import { conflict, notFound } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import {
  type Plan,
  ROUTE_PROTO,
  type RouteSpec,
  VNI,
  VXLAN_DEVICE,
  VXLAN_PORT,
  type VxlanPeer,
} from './plan.js';

const ipJson = async <T>(args: string[], file = 'ip'): Promise<T> => {
  const r = await run(file, ['-j', ...args]);
  return (r.stdout.trim() ? JSON.parse(r.stdout) : []) as T;
};

interface LinkAddr {
  ifname: string;
  mtu: number;
  link_type?: string;
  address?: string;
  linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } };
  addr_info?: { family: string; local: string }[];
}

/** The interface holding the node's address and its MTU. */
export async function linkOf(nodeIP: string): Promise<{ name: string; mtu: number }> {
  const links = await ipJson<LinkAddr[]>(['addr', 'show']);
  const l = links.find((x) => (x.addr_info ?? []).some((a) => a.family === 'inet' && a.local === nodeIP));
  if (!l) throw notFound(`No interface has the node address ${nodeIP} (is --node-ip right?)`);
  return { name: l.ifname, mtu: l.mtu };
}

/** Whether the kernel reaches `ip` without a gateway, over a link other than loopback. */
export async function isDirect(ip: string): Promise<boolean> {
  const r = await run('ip', ['-j', 'route', 'get', ip], { check: false });
  if (r.code !== 0) return false;
  const [route] = JSON.parse(r.stdout) as { gateway?: string; dev?: string }[];
  return !!route && !route.gateway && route.dev !== 'lo';
}

/** The device named VXLAN_DEVICE, with its details, if there is one. */
async function vxlanLink(): Promise<LinkAddr | undefined> {
  const r = await run('ip', ['-j', '-d', 'link', 'show', VXLAN_DEVICE], { check: false });
  // A non-zero exit is "Device does not exist".
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as LinkAddr[])[0];
}

/** The VXLAN device as flannel makes it (no learning: the agent fills the FDB), up, with the VTEP address. */
export async function ensureVxlan(o: {
  mac: string;
  localIP: string;
  link: { name: string; mtu: number };
  vtepAddress: string;
  mtu: number;
}): Promise<void> {
  let dev = await vxlanLink();
  if (dev && dev.linkinfo?.info_kind !== 'vxlan')
    throw conflict(
      `Device ${VXLAN_DEVICE} exists and is not a VXLAN device; Berth needs that name for the pod network`,
    );
  const d = dev?.linkinfo?.info_data;
  if (
    dev &&
    (dev.address !== o.mac || d?.local !== o.localIP || d?.port !== VXLAN_PORT || dev.mtu !== o.mtu)
  ) {
    // Made for another address or backend (the node's IP changed): remade, as its peers will see.
    await run('ip', ['link', 'del', VXLAN_DEVICE]);
    dev = undefined;
  }
  if (!dev)
    await run('ip', [
      'link',
      'add',
      VXLAN_DEVICE,
      'address',
      o.mac,
      'mtu',
      String(o.mtu),
      'type',
      'vxlan',
      'id',
      String(VNI),
      'local',
      o.localIP,
      'dev',
      o.link.name,
      'dstport',
      String(VXLAN_PORT),
      'nolearning',
    ]);
  await run('ip', ['addr', 'replace', `${o.vtepAddress}/32`, 'dev', VXLAN_DEVICE]);
  await run('ip', ['link', 'set', VXLAN_DEVICE, 'up']);
}

interface RouteRow {
  dst: string;
  gateway?: string;
  dev?: string;
  flags?: string[];
}

/** The routes the agent added (its protocol number), in the main table. */
export async function ownRoutes(): Promise<RouteRow[]> {
  return ipJson<RouteRow[]>(['route', 'show', 'proto', String(ROUTE_PROTO)]);
}

const routeArgs = (r: RouteSpec) => [
  r.dst,
  'via',
  r.via,
  ...(r.dev ? ['dev', r.dev] : []),
  ...(r.onlink ? ['onlink'] : []),
  'proto',
  String(ROUTE_PROTO),
];

const sameRoute = (have: RouteRow, want: RouteSpec) =>
  have.dst === want.dst && have.gateway === want.via && (!want.dev || have.dev === want.dev);

/** Makes the node's routes, neighbour and FDB entries what the plan says; returns what changed. */
export async function applyPlan(plan: Plan, vxlan: boolean): Promise<string[]> {
  const changed: string[] = [];
  // VXLAN entries first: a route through the device is only useful once its next hop resolves.
  if (vxlan) changed.push(...(await syncVxlanPeers(plan.vxlanPeers)));
  const have = await ownRoutes();
  for (const want of plan.routes) {
    if (have.some((h) => sameRoute(h, want))) continue;
    await run('ip', ['route', 'replace', ...routeArgs(want)]);
    changed.push(`route ${want.dst} via ${want.via}${want.dev ? ` dev ${want.dev}` : ''}`);
  }
  for (const h of have) {
    if (plan.routes.some((w) => w.dst === h.dst)) continue;
    await run('ip', ['route', 'del', h.dst, 'proto', String(ROUTE_PROTO)], { check: false });
    changed.push(`route ${h.dst} removed`);
  }
  return changed;
}

async function syncVxlanPeers(peers: readonly VxlanPeer[]): Promise<string[]> {
  const changed: string[] = [];
  const neigh = await ipJson<{ dst: string; lladdr?: string }[]>(['neigh', 'show', 'dev', VXLAN_DEVICE]);
  const fdb = await ipJson<{ mac: string; dst?: string }[]>(['fdb', 'show', 'dev', VXLAN_DEVICE], 'bridge');
  for (const p of peers) {
    if (!fdb.some((f) => f.mac === p.mac && f.dst === p.nodeIp)) {
      await run('bridge', [
        'fdb',
        'replace',
        p.mac,
        'dev',
        VXLAN_DEVICE,
        'dst',
        p.nodeIp,
        'self',
        'permanent',
      ]);
      changed.push(`fdb ${p.mac} dst ${p.nodeIp}`);
    }
    if (!neigh.some((n) => n.dst === p.vtepIp && n.lladdr === p.mac)) {
      await run('ip', [
        'neigh',
        'replace',
        p.vtepIp,
        'lladdr',
        p.mac,
        'dev',
        VXLAN_DEVICE,
        'nud',
        'permanent',
      ]);
      changed.push(`neigh ${p.vtepIp} lladdr ${p.mac}`);
    }
  }
  for (const f of fdb) {
    if (!f.dst || peers.some((p) => p.mac === f.mac && p.nodeIp === f.dst)) continue;
    await run('bridge', ['fdb', 'del', f.mac, 'dev', VXLAN_DEVICE, 'dst', f.dst, 'self'], { check: false });
    changed.push(`fdb ${f.mac} removed`);
  }
  for (const n of neigh) {
    if (peers.some((p) => p.vtepIp === n.dst)) continue;
    await run('ip', ['neigh', 'del', n.dst, 'dev', VXLAN_DEVICE], { check: false });
    changed.push(`neigh ${n.dst} removed`);
  }
  return changed;
}

/** Removes the VXLAN device (with its FDB and neighbour entries) if it is the agent's. */
export async function deleteVxlan(): Promise<boolean> {
  const dev = await vxlanLink();
  if (dev?.linkinfo?.info_kind !== 'vxlan' || dev.linkinfo.info_data?.id !== VNI) return false;
  await run('ip', ['link', 'del', VXLAN_DEVICE]);
  return true;
}

/** Removes every route the agent added. */
export async function deleteOwnRoutes(): Promise<number> {
  const have = await ownRoutes();
  for (const h of have)
    await run('ip', ['route', 'del', h.dst, 'proto', String(ROUTE_PROTO)], { check: false });
  return have.length;
}
