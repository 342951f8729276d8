import { createHash } from 'node:crypto';
import type { Command } from 'commander';
import { errorMessage, invalidArgument } from '../core/errors.js';
import { removeBridge } from '../engine/network/attach.js';
import { DEFAULT_NETWORK, type NetworkRecord, NetworkStore } from '../engine/network/network-store.js';
import { openEngineDb } from '../engine/state/db.js';
import { renderTemplate } from './go-template.js';

function store(cmd: Command): NetworkStore {
  const s = new NetworkStore(openEngineDb((cmd.optsWithGlobals() as { root: string }).root));
  s.ensureDefault();
  return s;
}

function labels(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of list ?? []) {
    const i = l.indexOf('=');
    out[i < 0 ? l : l.slice(0, i)] = i < 0 ? '' : l.slice(i + 1);
  }
  return out;
}

/** Docker's `network inspect` shape. */
function inspectShape(n: NetworkRecord, s: NetworkStore): Record<string, unknown> {
  const containers: Record<string, unknown> = {};
  for (const a of s.attachmentsOf(n.name)) {
    containers[a.containerId] = {
      Name: a.containerId.slice(0, 12),
      EndpointID: '',
      MacAddress: a.mac,
      IPv4Address: a.ip ? `${a.ip}/${n.subnet.split('/')[1]}` : '',
      IPv6Address: '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: n.subnet, Gateway: n.gateway }] },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: { 'com.docker.network.bridge.name': n.bridge },
    Labels: n.labels,
  };
}

export async function createAction(
  cmd: Command,
  name: string,
  opts: { driver: string; subnet?: string; gateway?: string; internal?: boolean; label?: string[] },
): Promise<void> {
  if (opts.driver !== 'bridge')
    throw invalidArgument(`Unsupported network driver "${opts.driver}": only bridge is available`);
  const n = store(cmd).create({
    name,
    subnet: opts.subnet,
    gateway: opts.gateway,
    internal: opts.internal,
    labels: labels(opts.label),
  });
  process.stdout.write(`${n.id}\n`);
}

export async function listAction(
  cmd: Command,
  opts: { quiet?: boolean; format?: string; trunc: boolean },
): Promise<void> {
  const s = store(cmd);
  const nets = s.list();
  const id = (n: NetworkRecord) => (opts.trunc ? n.id.slice(0, 12) : n.id);
  if (opts.quiet) {
    for (const n of nets) process.stdout.write(`${id(n)}\n`);
    return;
  }
  if (opts.format === 'json') {
    process.stdout.write(
      `${JSON.stringify(
        nets.map((n) => inspectShape(n, s)),
        null,
        2,
      )}\n`,
    );
    return;
  }
  // Docker lists the host and none modes beside the real networks; scripts expect them.
  const modes = ['host', 'none'].map((m) => {
    const mid = createHash('sha256').update(`berth-network-mode-${m}`).digest('hex');
    return [opts.trunc ? mid.slice(0, 12) : mid, m, m === 'none' ? 'null' : 'host', 'local'];
  });
  const rows = [
    ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE'],
    ...nets.map((n) => [id(n), n.name, n.driver, 'local']),
    ...modes,
  ];
  const w = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows)
    process.stdout.write(`${r.map((v, c) => (c === r.length - 1 ? v : v.padEnd(w[c]! + 3))).join('')}\n`);
}

export async function inspectAction(cmd: Command, names: string[], opts: { format?: string }): Promise<void> {
  const s = store(cmd);
  const out: Record<string, unknown>[] = [];
  for (const n of names) {
    try {
      out.push(inspectShape(s.get(n), s));
    } catch (e) {
      process.stderr.write(`Error: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    }
  }
  if (opts.format) for (const o of out) process.stdout.write(`${renderTemplate(opts.format, o)}\n`);
  else process.stdout.write(`${JSON.stringify(out, null, 4)}\n`);
}

export async function removeAction(cmd: Command, names: string[]): Promise<void> {
  const s = store(cmd);
  for (const name of names) {
    try {
      if (name === DEFAULT_NETWORK || name === 'host' || name === 'none') {
        throw invalidArgument(`${name} is a pre-defined network and cannot be removed`);
      }
      const n = s.remove(name);
      await removeBridge(n);
      process.stdout.write(`${name}\n`);
    } catch (e) {
      process.stderr.write(`Error response from daemon: ${errorMessage(e)}\n`);
      process.exitCode = 1;
    }
  }
}

export async function pruneAction(cmd: Command): Promise<void> {
  const s = store(cmd);
  const removed: string[] = [];
  for (const n of s.list()) {
    if (n.name === DEFAULT_NETWORK || s.attachmentsOf(n.name).length) continue;
    s.remove(n.name);
    await removeBridge(n);
    removed.push(n.name);
  }
  if (removed.length) process.stdout.write(`Deleted Networks:\n${removed.join('\n')}\n`);
}

export async function connectAction(
  cmd: Command,
  network: string,
  container: string,
  opts: { ip?: string; alias?: string[] },
): Promise<void> {
  const { contextOf } = await import('./container-actions.js');
  const { connectNetwork } = await import('../engine/container/connect.js');
  await connectNetwork(contextOf(cmd), network, container, {
    ...(opts.ip ? { ip: opts.ip } : {}),
    aliases: opts.alias ?? [],
  });
}

export async function disconnectAction(
  cmd: Command,
  network: string,
  container: string,
  opts: { force?: boolean },
): Promise<void> {
  const { contextOf } = await import('./container-actions.js');
  const { disconnectNetwork } = await import('../engine/container/connect.js');
  await disconnectNetwork(contextOf(cmd), network, container, opts.force === true);
}
