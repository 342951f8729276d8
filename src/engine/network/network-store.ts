import { randomBytes } from 'node:crypto';
import { conflict, invalidArgument, notFound } from '../../core/errors.js';
import { type EngineDb, migrate } from '../state/db.js';
import { contains, firstHost, formatCidr, overlaps, parseCidr, parseIPv4 } from './cidr.js';
import type { CniResult } from './cni/invoke.js';
import type { PortMapping } from './ports.js';

/** A bridge network: its CNI bridge, subnet and options. */
export interface NetworkRecord {
  id: string;
  name: string;
  driver: 'bridge';
  subnet: string;
  gateway: string;
  bridge: string;
  internal: boolean;
  labels: Record<string, string>;
  created: string;
}

/** One container's endpoint on one network. */
export interface Attachment {
  containerId: string;
  network: string;
  ifName: string;
  ip: string;
  mac: string;
  aliases: string[];
  ports: PortMapping[];
  result: CniResult;
}

/** Docker's default network is "bridge"; its CNI bridge and subnet are Berth's own. */
export const DEFAULT_NETWORK = 'bridge';
export const DEFAULT_SUBNET = '10.88.0.0/16';
/** Names Docker reserves for modes, not networks. */
const RESERVED = new Set(['host', 'none', 'default']);
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/**
 * The longest network name. The name becomes a folder of the host-local IPAM plugin (255
 * bytes at most) and part of the bridge plugin's iptables comments (`name: "NAME" id:
 * "64 hex"`, 255 bytes with legacy iptables, so at most 176); a longer name made every
 * container on the network fail to start.
 */
export const MAX_NETWORK_NAME = 128;

const schema = [
  `CREATE TABLE networks (
     id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, subnet TEXT NOT NULL, gateway TEXT NOT NULL,
     bridge TEXT NOT NULL, internal INTEGER NOT NULL, labels TEXT NOT NULL, created TEXT NOT NULL)`,
  `CREATE TABLE network_attachments (
     container_id TEXT NOT NULL, network TEXT NOT NULL REFERENCES networks(name), if_name TEXT NOT NULL,
     ip TEXT NOT NULL, mac TEXT NOT NULL, aliases TEXT NOT NULL, ports TEXT NOT NULL, result TEXT NOT NULL,
     PRIMARY KEY (container_id, network))`,
];

type Row = {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
  bridge: string;
  internal: number;
  labels: string;
  created: string;
};

function fromRow(r: Row): NetworkRecord {
  return {
    id: r.id,
    name: r.name,
    driver: 'bridge',
    subnet: r.subnet,
    gateway: r.gateway,
    bridge: r.bridge,
    internal: r.internal === 1,
    labels: JSON.parse(r.labels) as Record<string, string>,
    created: r.created,
  };
}

/**
 * Network and endpoint records in the engine database. Creation checks names and subnets in
 * one immediate transaction, so two concurrent `network create` commands cannot both take a
 * name or overlapping subnets.
 */
export class NetworkStore {
  constructor(private readonly db: EngineDb) {
    migrate(db, 'network', schema);
  }

  /** The default bridge network, created on first use. */
  ensureDefault(): NetworkRecord {
    const have = this.find(DEFAULT_NETWORK);
    if (have) return have;
    try {
      return this.create({
        name: DEFAULT_NETWORK,
        subnet: DEFAULT_SUBNET,
        bridgeName: 'berth0',
        allowReserved: true,
      });
    } catch (e) {
      const again = this.find(DEFAULT_NETWORK);
      if (again) return again;
      throw e;
    }
  }

  create(opts: {
    name: string;
    subnet?: string;
    gateway?: string;
    internal?: boolean;
    labels?: Record<string, string>;
    bridgeName?: string;
    allowReserved?: boolean;
  }): NetworkRecord {
    if (!NAME.test(opts.name))
      throw invalidArgument(`Invalid network name "${opts.name}": use letters, digits, "_", "." and "-"`);
    if (opts.name.length > MAX_NETWORK_NAME)
      throw invalidArgument(
        `Invalid network name "${opts.name}": it is ${opts.name.length} characters long; the limit is ${MAX_NETWORK_NAME}`,
      );
    if (!opts.allowReserved && (RESERVED.has(opts.name) || opts.name === DEFAULT_NETWORK)) {
      throw conflict(`Network name "${opts.name}" is reserved`);
    }
    const tx = this.db.transaction((): NetworkRecord => {
      if (this.find(opts.name)) throw conflict(`network with name ${opts.name} already exists`);
      const existing = this.list();
      let subnet: string;
      if (opts.subnet) {
        const s = parseCidr(opts.subnet);
        const clash = existing.find((n) => overlaps(parseCidr(n.subnet), s));
        if (clash)
          throw conflict(
            `Pool overlaps with other one on this address space: ${opts.subnet} overlaps network "${clash.name}" (${clash.subnet})`,
          );
        subnet = formatCidr(s);
      } else {
        subnet = this.freeSubnet(existing);
      }
      const s = parseCidr(subnet);
      const gateway = opts.gateway ?? firstHost(s);
      if (!contains(s, parseIPv4(gateway)))
        throw invalidArgument(`Invalid gateway "${gateway}": it is not in subnet ${subnet}`);
      const id = randomBytes(32).toString('hex');
      const rec: NetworkRecord = {
        id,
        name: opts.name,
        driver: 'bridge',
        subnet,
        gateway,
        bridge: opts.bridgeName ?? `br-${id.slice(0, 12)}`,
        internal: !!opts.internal,
        labels: opts.labels ?? {},
        created: new Date().toISOString(),
      };
      this.db
        .prepare(
          'INSERT INTO networks (id, name, subnet, gateway, bridge, internal, labels, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          rec.id,
          rec.name,
          rec.subnet,
          rec.gateway,
          rec.bridge,
          rec.internal ? 1 : 0,
          JSON.stringify(rec.labels),
          rec.created,
        );
      return rec;
    });
    return tx.immediate();
  }

  /** Podman's scheme: user networks get the first free 10.89.N.0/24. */
  private freeSubnet(existing: NetworkRecord[]): string {
    for (let n = 0; n < 256; n++) {
      const cand = parseCidr(`10.89.${n}.0/24`);
      if (!existing.some((e) => overlaps(parseCidr(e.subnet), cand))) return formatCidr(cand);
    }
    throw conflict('No free subnet left in 10.89.0.0/16; give one with --subnet');
  }

  find(nameOrId: string): NetworkRecord | undefined {
    const r = (this.db.prepare('SELECT * FROM networks WHERE name = ?').get(nameOrId) ??
      (nameOrId.length >= 3 && /^[a-f0-9]+$/.test(nameOrId)
        ? this.db.prepare('SELECT * FROM networks WHERE id LIKE ?').get(`${nameOrId}%`)
        : undefined)) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  get(nameOrId: string): NetworkRecord {
    const n = this.find(nameOrId);
    if (!n) throw notFound(`network ${nameOrId} not found`);
    return n;
  }

  list(): NetworkRecord[] {
    return (this.db.prepare('SELECT * FROM networks ORDER BY created').all() as Row[]).map(fromRow);
  }

  remove(nameOrId: string): NetworkRecord {
    const n = this.get(nameOrId);
    const tx = this.db.transaction(() => {
      const users = this.attachmentsOf(n.name);
      if (users.length) {
        throw conflict(
          `error while removing network: network ${n.name} id ${n.id} has active endpoints (${users.map((u) => u.containerId.slice(0, 12)).join(', ')})`,
        );
      }
      this.db.prepare('DELETE FROM networks WHERE id = ?').run(n.id);
    });
    tx.immediate();
    return n;
  }

  attachmentsOf(network: string): Attachment[] {
    return (
      this.db.prepare('SELECT * FROM network_attachments WHERE network = ?').all(network) as AttRow[]
    ).map(attFromRow);
  }

  attachmentsFor(containerId: string): Attachment[] {
    return (
      this.db.prepare('SELECT * FROM network_attachments WHERE container_id = ?').all(containerId) as AttRow[]
    ).map(attFromRow);
  }

  allPorts(): PortMapping[] {
    return (this.db.prepare('SELECT ports FROM network_attachments').all() as { ports: string }[]).flatMap(
      (r) => JSON.parse(r.ports) as PortMapping[],
    );
  }

  /**
   * Reserves host ports for a container before its CNI ADD: a port another endpoint holds is
   * Docker's "port is already allocated"; port 0 becomes a free one from the ephemeral range.
   */
  reservePorts(ports: PortMapping[], isFree: (p: PortMapping) => boolean): PortMapping[] {
    const taken = this.allPorts();
    const clash = (p: PortMapping) =>
      taken.some(
        (t) =>
          t.hostPort === p.hostPort &&
          t.protocol === p.protocol &&
          (!t.hostIP || !p.hostIP || t.hostIP === p.hostIP),
      );
    const out: PortMapping[] = [];
    for (const p of ports) {
      if (p.hostPort !== 0) {
        if (clash(p) || out.some((o) => o.hostPort === p.hostPort && o.protocol === p.protocol)) {
          throw conflict(`Bind for ${p.hostIP || '0.0.0.0'}:${p.hostPort} failed: port is already allocated`);
        }
        out.push(p);
        continue;
      }
      let chosen: PortMapping | undefined;
      for (let i = 0; i < 200 && !chosen; i++) {
        const cand = { ...p, hostPort: 32768 + Math.floor(Math.random() * (60999 - 32768)) };
        if (!clash(cand) && !out.some((o) => o.hostPort === cand.hostPort) && isFree(cand)) chosen = cand;
      }
      if (!chosen) throw conflict('No free host port found for a random port mapping');
      out.push(chosen);
    }
    return out;
  }

  saveAttachment(a: Attachment): void {
    this.db
      .prepare(
        'INSERT OR REPLACE INTO network_attachments (container_id, network, if_name, ip, mac, aliases, ports, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        a.containerId,
        a.network,
        a.ifName,
        a.ip,
        a.mac,
        JSON.stringify(a.aliases),
        JSON.stringify(a.ports),
        JSON.stringify(a.result),
      );
  }

  deleteAttachment(containerId: string, network: string): void {
    this.db
      .prepare('DELETE FROM network_attachments WHERE container_id = ? AND network = ?')
      .run(containerId, network);
  }
}

type AttRow = {
  container_id: string;
  network: string;
  if_name: string;
  ip: string;
  mac: string;
  aliases: string;
  ports: string;
  result: string;
};

function attFromRow(r: AttRow): Attachment {
  return {
    containerId: r.container_id,
    network: r.network,
    ifName: r.if_name,
    ip: r.ip,
    mac: r.mac,
    aliases: JSON.parse(r.aliases) as string[],
    ports: JSON.parse(r.ports) as PortMapping[],
    result: JSON.parse(r.result) as CniResult,
  };
}
