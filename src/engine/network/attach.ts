import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BerthError } from '../../core/errors.js';
import { run } from '../../core/exec.js';
import type { EngineDb } from '../state/db.js';
import { contains, parseCidr, parseIPv4 } from './cidr.js';
import { addNetworkList, type ConfList, delNetworkList, type RuntimeConfig } from './cni/invoke.js';
import { type IsolationCheck, isolateBridges, unisolateBridge } from './isolation.js';
import { type Attachment, type NetworkRecord, NetworkStore } from './network-store.js';
import type { PortMapping } from './ports.js';

/** What a container asks of one network. */
export interface NetworkRequest {
  /** Network name or ID. */
  name: string;
  aliases?: string[];
  /** A static address inside the network's subnet (`--ip`). */
  ip?: string;
  /** A fixed MAC address (`--mac-address`). */
  mac?: string;
}

export interface AttachRequest {
  containerId: string;
  /** The container's network namespace (see netns.ts). */
  netns: string;
  networks: NetworkRequest[];
  /** Published ports; bound through the first network. */
  ports?: PortMapping[];
  /**
   * Remembers isolation checks across attaches (IsolationCheck says when one may be skipped);
   * without it the filter table is checked after every attach.
   */
  isolation?: IsolationCheck;
}

/**
 * Bridge options carried as labels under Docker's option names: the pod network sets the
 * MTU its backend needs and turns masquerading off (it masquerades in its own table, sparing
 * pod-to-pod traffic across nodes).
 */
export const BridgeOptionLabels = {
  mtu: 'com.docker.network.driver.mtu',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  /**
   * Berth's own: `true` accepts the whole subnet in FORWARD once (isolation.ts) instead of
   * running the CNI firewall plugin for each endpoint. Set when the network is made, so an
   * endpoint's DEL always runs the plugins its ADD ran.
   */
  subnetForward: 'io.berth.network.subnet-forward',
} as const;

/** The engine's folders that network endpoints use: the data root and the run-state root. */
export interface NetworkPaths {
  root: string;
  runroot: string;
}

/**
 * host-local's address reservations, under the runroot: they are run state (no endpoint
 * outlives a reboot, and reservations left on disk by one would hold its address forever), as
 * netavark keeps its IPAM database in /run. On a node's tmpfs each reservation also costs no
 * inode on the data root's disk (host-local's CPU per pod was mostly ext4 looking for a free
 * inode). Reservations an earlier version kept under the data root move in at first use, so
 * running endpoints keep their addresses.
 */
export function ipamDir(s: NetworkPaths): string {
  const dir = join(s.runroot, 'ipam');
  const old = join(s.root, 'networks', 'ipam');
  if (existsSync(old)) {
    if (!existsSync(dir)) cpSync(old, dir, { recursive: true });
    rmSync(old, { recursive: true, force: true });
  }
  return dir;
}

/** Whether the network accepts its subnet once rather than through the firewall plugin. */
const forwardsSubnet = (net: NetworkRecord) => net.labels[BridgeOptionLabels.subnetForward] === 'true';

/**
 * The CNI network configuration list Berth uses for a bridge network. portmap only joins it
 * for an endpoint with published ports: each plugin is a process of its own, and one with
 * nothing to do still costs a few milliseconds on every start and stop. The firewall plugin
 * is left out for a network that accepts its whole subnet (BridgeOptionLabels.subnetForward).
 */
export function confListFor(paths: NetworkPaths, net: NetworkRecord, withPorts = true): ConfList {
  const mtu = Number(net.labels[BridgeOptionLabels.mtu]) || undefined;
  const masquerade = !net.internal && net.labels[BridgeOptionLabels.masquerade] !== 'false';
  const ipam: Record<string, unknown> = {
    type: 'host-local',
    ranges: [[{ subnet: net.subnet, gateway: net.gateway }]],
    dataDir: ipamDir(paths),
  };
  if (!net.internal) ipam.routes = [{ dst: '0.0.0.0/0' }];
  return {
    cniVersion: '1.0.0',
    name: net.name,
    plugins: [
      {
        type: 'bridge',
        bridge: net.bridge,
        isGateway: true,
        ipMasq: masquerade,
        ...(mtu ? { mtu } : {}),
        hairpinMode: true,
        capabilities: { ips: true, mac: true },
        ipam,
      },
      ...(withPorts ? [{ type: 'portmap', capabilities: { portMappings: true }, snat: true }] : []),
      ...(forwardsSubnet(net) ? [] : [{ type: 'firewall', backend: 'iptables' }]),
    ],
  };
}

/** Whether nothing in this network namespace listens on the port (read from /proc/net). */
function hostPortFree(p: PortMapping): boolean {
  const files =
    p.protocol === 'udp' ? ['/proc/net/udp', '/proc/net/udp6'] : ['/proc/net/tcp', '/proc/net/tcp6'];
  const hex = p.hostPort.toString(16).toUpperCase().padStart(4, '0');
  for (const f of files) {
    let text = '';
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN (UDP sockets have state 07).
      if (cols[1]?.endsWith(`:${hex}`) && (p.protocol === 'udp' || cols[3] === '0A')) return false;
    }
  }
  return true;
}

/**
 * Connects a container's namespace to its networks through CNI: reserves its host ports and
 * records the endpoints in one transaction (so parallel commands never share a port), runs
 * ADD for each network, and records the addresses. If any network fails, the ones already
 * added are removed again: nothing is left half-configured.
 */
export async function attachNetworks(
  db: EngineDb,
  paths: NetworkPaths,
  req: AttachRequest,
): Promise<Attachment[]> {
  const { root } = paths;
  const store = new NetworkStore(db);
  const nets = req.networks.map((n) => (n.name === 'bridge' ? store.ensureDefault() : store.get(n.name)));
  for (const [i, n] of req.networks.entries()) {
    if (n.ip && !contains(parseCidr(nets[i]!.subnet), parseIPv4(n.ip))) {
      throw new BerthError(
        'InvalidArgument',
        `Invalid --ip "${n.ip}": it is not in network ${nets[i]!.name}'s subnet ${nets[i]!.subnet}`,
      );
    }
  }
  // Interface names: eth0 for the first network, then the lowest free ethN (a network
  // connected to a running container takes the next one).
  const taken = new Set(store.attachmentsFor(req.containerId).map((a) => a.ifName));
  const ifNames: string[] = [];
  for (let n = 0; ifNames.length < nets.length; n++) if (!taken.has(`eth${n}`)) ifNames.push(`eth${n}`);
  const first = taken.size === 0;
  const ports = db
    .transaction(() => {
      const reserved = first ? store.reservePorts(req.ports ?? [], hostPortFree) : [];
      for (const [i, net] of nets.entries()) {
        store.saveAttachment({
          containerId: req.containerId,
          network: net.name,
          ifName: ifNames[i]!,
          ip: '',
          mac: '',
          aliases: req.networks[i]!.aliases ?? [],
          ports: i === 0 ? reserved : [],
          result: { cniVersion: '1.0.0' },
        });
      }
      return reserved;
    })
    .immediate();
  const done: Attachment[] = [];
  try {
    for (const [i, net] of nets.entries()) {
      const ifName = ifNames[i]!;
      const rc: RuntimeConfig = {
        ...(i === 0 && ports.length
          ? { portMappings: ports.map((p) => ({ ...p, hostIP: p.hostIP || undefined })) }
          : {}),
        ...(req.networks[i]!.ip ? { ips: [`${req.networks[i]!.ip}/${net.subnet.split('/')[1]}`] } : {}),
        ...(req.networks[i]!.mac ? { mac: req.networks[i]!.mac } : {}),
      };
      const result = await addNetworkList(
        confListFor(paths, net, (rc.portMappings?.length ?? 0) > 0),
        req.containerId,
        req.netns,
        ifName,
        rc,
      );
      const ip = result.ips?.[0]?.address.split('/')[0] ?? '';
      const mac = result.interfaces?.find((x) => x.name === ifName && x.sandbox)?.mac ?? '';
      const a: Attachment = {
        containerId: req.containerId,
        network: net.name,
        ifName,
        ip,
        mac,
        aliases: req.networks[i]!.aliases ?? [],
        ports: i === 0 ? ports : [],
        result,
      };
      store.saveAttachment(a);
      done.push(a);
    }
    const all = store.list();
    const bridges = all.map((n) => n.bridge);
    const subnets = all.filter(forwardsSubnet).map((n) => n.subnet);
    if (req.isolation) await req.isolation.ensure(root, bridges, subnets, !nets.every(forwardsSubnet));
    else await isolateBridges(root, bridges, subnets);
  } catch (e) {
    // Undo only this request's endpoints: a connect to a running container keeps the others.
    for (const net of nets)
      await detachNetworks(db, paths, req.containerId, req.netns, net.name).catch(() => {});
    throw e;
  }
  return done;
}

/** Runs CNI DEL for every endpoint of a container and forgets them. Safe to repeat. */
export async function detachNetworks(
  db: EngineDb,
  paths: NetworkPaths,
  containerId: string,
  netns: string,
  only?: string,
): Promise<void> {
  const store = new NetworkStore(db);
  let first: Error | undefined;
  for (const a of store.attachmentsFor(containerId)) {
    if (only && a.network !== only) continue;
    const net = store.find(a.network);
    if (net) {
      try {
        await delNetworkList(
          confListFor(paths, net, a.ports.length > 0),
          containerId,
          netns,
          a.ifName,
          a.ports.length
            ? { portMappings: a.ports.map((p) => ({ ...p, hostIP: p.hostIP || undefined })) }
            : {},
          a.result.ips ? a.result : undefined,
        );
      } catch (e) {
        first ??= e as Error;
      }
    }
    store.deleteAttachment(containerId, a.network);
  }
  if (first) throw first;
}

/** Deletes a network's bridge device and its isolation rules once no endpoint uses it (network rm). */
export async function removeBridge(net: NetworkRecord): Promise<void> {
  await run('ip', ['link', 'del', net.bridge], { check: false });
  await unisolateBridge(net.bridge, forwardsSubnet(net) ? net.subnet : '');
}
