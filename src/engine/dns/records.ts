/**
 * What the embedded DNS server answers, read through the network store at query time (so a
 * container's name resolves from the moment its attachment is committed, with no record
 * files to keep in step): on one network, a container's name, its short ID and its
 * `--network-alias` names resolve to its address on that network.
 */
import { DEFAULT_NETWORK, type NetworkStore } from '../network/network-store.js';
import { type DnsResolver, Rcode } from './transport.js';

export interface UserNetwork {
  name: string;
  gateway: string;
}

/** User networks that have endpoints (the default `bridge` has no name resolution, as Docker). */
export function activeNetworks(networks: NetworkStore): UserNetwork[] {
  return networks
    .list()
    .filter((n) => n.name !== DEFAULT_NETWORK && networks.attachmentsOf(n.name).length > 0)
    .map((n) => ({ name: n.name, gateway: n.gateway }));
}

/** The addresses a name has on a network (names are matched without case, as DNS does). */
export function lookup(networks: NetworkStore, network: string, name: string): string[] {
  const want = name.toLowerCase().replace(/\.$/, '');
  return networks
    .attachmentsOf(network)
    .filter((a) => a.aliases.some((alias) => alias.toLowerCase() === want))
    .map((a) => a.ip.split('/')[0]!);
}

const TTL = 0; // containers come and go; clients should ask again

/**
 * The resolver for one network: its containers' names get A records (other types exist but
 * have no data: NOERROR, empty); every other name goes upstream.
 */
export function networkResolver(networks: NetworkStore, network: string): DnsResolver {
  return {
    resolve(q) {
      const ips = lookup(networks, network, q.name);
      if (ips.length === 0) return undefined;
      return {
        rcode: Rcode.NOERROR,
        answers:
          q.type === 'A' ? ips.map((ip) => ({ type: 'A' as const, name: q.name, ttl: TTL, data: ip })) : [],
      };
    },
  };
}
