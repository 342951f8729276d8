/**
 * What one pod may receive (or send), as the union of the rules of every policy selecting it:
 * peers allowed on every protocol and port (rules without ports), and boxes of (peer address
 * range, protocol, port range) for the rest. The boxes are made disjoint, so they can be the
 * elements of one concatenated interval set (nft and the kernel refuse elements that partly
 * overlap) and a new connection is one lookup however many rules allowed it.
 */
import { mergeRanges, type Range } from './ipv4-ranges.js';
import type { Protocol } from './policy.js';

/** Peers in `addresses` may reach `protocol` ports `ports` (inclusive, 0-65535 for all). */
export interface Box {
  addresses: Range;
  protocol: Protocol;
  ports: Range;
}

export interface AllowList {
  /** Address ranges allowed on every protocol and port, merged. */
  anyPort: Range[];
  /** Disjoint boxes, by protocol, then port, then address. */
  boxes: Box[];
}

export const ALL_PORTS: Range = [0, 65535];
export const ALL_ADDRESSES: Range = [0, 2 ** 32 - 1];

const PROTOCOL_ORDER: Record<Protocol, number> = { tcp: 0, udp: 1, sctp: 2 };

/**
 * The same area as `boxes`, without overlaps: per protocol, the port axis is cut at every
 * box's edge, each piece gets the merged addresses of the boxes covering it, and neighbouring
 * pieces with the same addresses are joined again.
 */
export function disjointBoxes(boxes: Iterable<Box>): Box[] {
  const byProtocol = new Map<Protocol, Box[]>();
  for (const b of boxes) {
    const list = byProtocol.get(b.protocol) ?? [];
    list.push(b);
    byProtocol.set(b.protocol, list);
  }
  const out: Box[] = [];
  const protocols = [...byProtocol.keys()].sort((a, b) => PROTOCOL_ORDER[a] - PROTOCOL_ORDER[b]);
  for (const protocol of protocols) {
    const list = byProtocol.get(protocol)!;
    const cuts = [...new Set(list.flatMap((b) => [b.ports[0], b.ports[1] + 1]))].sort((a, b) => a - b);
    // Pieces of the port axis with the addresses allowed on them; `key` compares those.
    const pieces: { ports: [number, number]; addresses: Range[]; key: string }[] = [];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const [start, end] = [cuts[i]!, cuts[i + 1]! - 1];
      const addresses = mergeRanges(
        list.filter((b) => b.ports[0] <= start && b.ports[1] >= end).map((b) => b.addresses),
      );
      if (!addresses.length) continue;
      const key = addresses.map(([s, e]) => `${s}-${e}`).join(',');
      const last = pieces[pieces.length - 1];
      if (last && last.ports[1] + 1 === start && last.key === key) last.ports[1] = end;
      else pieces.push({ ports: [start, end], addresses, key });
    }
    for (const p of pieces)
      for (const addresses of p.addresses) out.push({ addresses, protocol, ports: p.ports });
  }
  return out;
}

/** Collects a pod's allowed peers and ports for one direction, rule by rule. */
export class AllowListBuilder {
  private readonly anyPort: Range[] = [];
  private readonly boxes: Box[] = [];

  /** Peers in `addresses` may use every protocol and port. */
  addAnyPort(addresses: readonly Range[]): void {
    this.anyPort.push(...addresses);
  }

  /** Peers in `addresses` may use `protocol` ports `ports`. */
  add(addresses: readonly Range[], protocol: Protocol, ports: Range): void {
    for (const a of addresses) this.boxes.push({ addresses: a, protocol, ports });
  }

  build(): AllowList {
    return { anyPort: mergeRanges(this.anyPort), boxes: disjointBoxes(this.boxes) };
  }
}
