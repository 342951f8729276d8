/**
 * What the embedded DNS server answers, read from the engine database at query time (so a
 * container's name resolves from the moment its attachment is committed, with no record
 * files to keep in step): on one network, a container's name, its short ID and its
 * `--network-alias` names resolve to its address on that network.
 */
import type { EngineDb } from '../state/db.js';

export interface UserNetwork {
  name: string;
  gateway: string;
}

/** User networks that have endpoints (the default `bridge` has no name resolution, as Docker). */
export function activeNetworks(db: EngineDb): UserNetwork[] {
  return db
    .prepare(
      `SELECT DISTINCT n.name AS name, n.gateway AS gateway FROM networks n
       JOIN network_attachments a ON a.network = n.name WHERE n.name != 'bridge'`,
    )
    .all() as UserNetwork[];
}

/** The addresses a name has on a network (names are matched without case, as DNS does). */
export function lookup(db: EngineDb, network: string, name: string): string[] {
  const want = name.toLowerCase().replace(/\.$/, '');
  const rows = db.prepare('SELECT ip, aliases FROM network_attachments WHERE network = ?').all(network) as {
    ip: string;
    aliases: string;
  }[];
  const out: string[] = [];
  for (const r of rows) {
    const aliases = (JSON.parse(r.aliases) as string[]).map((a) => a.toLowerCase());
    if (aliases.includes(want)) out.push(r.ip.split('/')[0]!);
  }
  return out;
}
