/**
 * A container's network, between the container lifecycle and the CNI layer: which namespace
 * it runs in, its endpoints while it runs, and the /etc files that describe them. Endpoints
 * exist while the container runs (Docker releases them when a container stops), so a stopped
 * container holds no address, port or rule.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, notFound } from '../../core/errors.js';
import { ensureDnsServer } from '../dns/ensure.js';
import { attachNetworks, detachNetworks } from '../network/attach.js';
import { createNetns, netnsDir, removeNetns } from '../network/netns.js';
import { DEFAULT_NETWORK, NetworkStore } from '../network/network-store.js';
import type { ContainerConfig } from './config.js';
import type { EngineContext } from './context.js';

/** Whether a network mode is a CNI bridge network (not none, host, another container's or a path's). */
export function usesCni(mode: string): boolean {
  return mode !== 'none' && mode !== 'host' && !mode.startsWith('container:') && !mode.startsWith('ns:');
}

/** Checks at create time that the network exists (the default one is made on first use). */
export function checkNetworkMode(ctx: EngineContext, mode: string): void {
  if (!usesCni(mode) || mode === DEFAULT_NETWORK) return;
  if (!new NetworkStore(ctx.db).find(mode)) throw notFound(`network ${mode} not found`);
}

export function netnsPathOf(ctx: EngineContext, id: string): string {
  return join(netnsDir(ctx.runroot), id);
}

/** What a started container's network is: the namespace to join and its addresses. */
export interface ContainerNetwork {
  /** Namespace path for the OCI spec; absent for `none` (a new one) and `host`. */
  netnsPath?: string;
  ip?: string;
  gateway?: string;
  /** The embedded DNS server's address, on user networks. */
  dns?: string;
}

/**
 * Prepares the network before the runtime creates the container: a pinned namespace joined to
 * the bridge network through CNI (with the published ports), or the namespace of the
 * container named in `container:NAME`. On failure nothing is left configured.
 */
export async function setupNetwork(
  ctx: EngineContext,
  id: string,
  name: string,
  config: ContainerConfig,
  findContainer: (ref: string) => { id: string; pid: number; state: string } | undefined,
): Promise<ContainerNetwork> {
  const mode = config.network;
  if (mode === 'host' || mode === 'none') return {};
  // `ns:PATH` (Podman's): join a namespace someone else pinned and set up (a pod's sandbox).
  if (mode.startsWith('ns:')) {
    const path = mode.slice('ns:'.length);
    if (!existsSync(path)) throw notFound(`Network namespace ${path} does not exist`);
    return { netnsPath: path };
  }
  if (mode.startsWith('container:')) {
    const ref = mode.slice('container:'.length);
    const other = findContainer(ref);
    if (!other) throw notFound(`No such container: ${ref}`);
    if (other.state !== 'running')
      throw conflict(`Cannot join the network of container ${ref}: it is not running`);
    const pinned = netnsPathOf(ctx, other.id);
    return { netnsPath: existsSync(pinned) ? pinned : `/proc/${other.pid}/ns/net` };
  }
  const netns = await createNetns(ctx.runroot, id);
  try {
    const aliases = [name, id.slice(0, 12), ...config.networkAliases].filter(Boolean);
    const [a] = await attachNetworks(ctx.db, ctx, {
      containerId: id,
      netns,
      networks: [
        {
          name: mode,
          aliases,
          ...(config.ip ? { ip: config.ip } : {}),
          ...(config.mac ? { mac: config.mac } : {}),
        },
        ...(config.extraNetworks ?? []).map((n) => ({
          name: n.name,
          aliases: [name, id.slice(0, 12), ...n.aliases].filter(Boolean),
          ...(n.ip ? { ip: n.ip } : {}),
        })),
      ],
      ports: config.ports,
    });
    networkEvents(ctx, 'connect', id);
    const joinsUser =
      mode !== DEFAULT_NETWORK || (config.extraNetworks ?? []).some((n) => n.name !== DEFAULT_NETWORK);
    const gateway = a?.result.ips?.[0]?.gateway;
    // User networks resolve container names through the embedded DNS server on their gateway,
    // which answers before the container's first lookup.
    if (joinsUser)
      await ensureDnsServer(
        ctx.root,
        ctx.runroot,
        ctx.self,
        mode !== DEFAULT_NETWORK && gateway ? { name: mode, gateway } : undefined,
      );
    return {
      netnsPath: netns,
      ip: a?.ip,
      gateway,
      ...(mode !== DEFAULT_NETWORK && gateway ? { dns: gateway } : {}),
    };
  } catch (e) {
    await removeNetns(netns);
    throw e;
  }
}

/** Releases a container's endpoints and its pinned namespace. Safe to call when there are none. */
export async function releaseNetwork(ctx: EngineContext, id: string): Promise<void> {
  const netns = netnsPathOf(ctx, id);
  const store = new NetworkStore(ctx.db);
  if (store.attachmentsFor(id).length) {
    networkEvents(ctx, 'disconnect', id);
    await detachNetworks(ctx.db, ctx, id, netns);
  }
  await removeNetns(netns);
}

/**
 * Journals `connect` or `disconnect` for each network the container has an endpoint on, as
 * dockerd does when a container starts and stops (`docker events` shows them around start and die).
 */
function networkEvents(ctx: EngineContext, action: 'connect' | 'disconnect', id: string): void {
  const store = new NetworkStore(ctx.db);
  for (const a of store.attachmentsFor(id)) {
    const n = store.find(a.network);
    if (n) ctx.events.append('network', action, n.id, { container: id, name: n.name, type: n.driver });
  }
}

/** The container's /etc/hosts: localhost, its own name and address, and `--add-host` lines. */
export function hostsFile(config: ContainerConfig, net: ContainerNetwork): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  lines.push(`${net.ip ?? '127.0.0.1'}\t${config.hostname}`);
  for (const h of config.addHosts) {
    const m = /^([^:=\s]+)[:=](.+)$/.exec(h);
    if (!m) continue;
    const ip = m[2] === 'host-gateway' ? (net.gateway ?? '127.0.0.1') : m[2]!;
    lines.push(`${ip}\t${m[1]}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The container's /etc/resolv.conf: `--dns` servers, else the host's, without loopback
 * servers (a container cannot reach the host's 127.0.0.x resolver), keeping search/options.
 */
export function resolvConf(
  config: ContainerConfig,
  hostResolv = '/etc/resolv.conf',
  embedded?: string,
): string {
  let text = '';
  try {
    text = readFileSync(hostResolv, 'utf8');
  } catch {
    /* none on the host */
  }
  const keep = text.split('\n').filter((l) => /^\s*(search|domain|options)\b/.test(l));
  const servers = config.dns.length
    ? config.dns
    : embedded
      ? [embedded]
      : text
          .split('\n')
          .map((l) => /^\s*nameserver\s+(\S+)/.exec(l)?.[1])
          .filter((s): s is string => !!s && !s.startsWith('127.') && s !== '::1');
  return `${[...keep, ...servers.map((s) => `nameserver ${s}`)].join('\n')}\n`;
}
