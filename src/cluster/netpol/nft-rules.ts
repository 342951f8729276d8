/**
 * NetworkPolicies as nftables rules for one node, a pure function of the policies, the pods
 * and namespaces of the cluster and the node's name. Only the node's own pods are isolated
 * here (each node enforces its pods' ingress and egress; a peer may be any pod of the
 * cluster). The layout, in `table inet berth-netpol`:
 *
 * - one set per rule with peers (`from-NS/POLICY/N` for ingress rule N, `to-NS/POLICY/N` for
 *   egress), holding the peers' pod addresses and ipBlocks less their excepts as intervals,
 *   so a rule is one lookup however many pods it names; `to-NS/POLICY/N/ports` holds
 *   address . protocol . port for egress to named ports, resolved on each peer pod;
 * - a chain per isolated pod (`ingress-NS/POD`, `egress-NS/POD`) with one line per rule and
 *   port of every policy selecting it (`return` when allowed), ending in `drop`: the union of
 *   the rules; named ingress ports are resolved on the pod itself;
 * - verdict maps from the pod's address to its chain (`ingress-pods`, `egress-pods`), looked
 *   up by the `forward` base chain after replies of established connections are let through.
 *
 * The forward hook sees routed traffic after the Service proxy's DNAT (so egress to a
 * Service is judged by the pod it reaches) and, where br_netfilter hands bridged IPv4 to the
 * IP hooks, traffic between pods on the node's bridge too. Traffic the node itself sends
 * (probes) takes the output hook and is never filtered. Where bridged frames bypass the IP
 * hooks, `table bridge berth-netpol` filters them on the bridge's forward hook; the bridge
 * family has no connection tracking without nf_conntrack_bridge, so it lets replies through
 * by their ports instead (see `bridgeTable`).
 */
import { createHash } from 'node:crypto';
import {
  cidrRange,
  ipv4ToNumber,
  mergeRanges,
  type Range,
  rangeElement,
  subtractRanges,
} from './ipv4-ranges.js';
import type { Policy, PolicyPeer, PolicyPort, PolicyRule } from './policy.js';
import { namedPort, type PodInfo, type Selection } from './selection.js';

export const TABLE = 'berth-netpol';

export interface NetpolInput {
  policies: readonly Policy[];
  selection: Selection;
  nodeName: string;
  /** Bridged frames bypass the IP hooks (no br_netfilter): filter them in the bridge family too. */
  bridgeFallback: boolean;
}

type Direction = 'ingress' | 'egress';

/** nft names are limited in length; a long one is shortened to a digest of itself. */
function nftName(prefix: string, rest: string): string {
  const name = `${prefix}-${rest}`;
  return name.length <= 200
    ? name
    : `${prefix}-${createHash('sha256').update(rest).digest('hex').slice(0, 32)}`;
}

interface SetDef {
  type: string;
  interval: boolean;
  elements: string[];
}

/** One line of a rule: a peer and port match, in the rule's own direction or reflected. */
interface Match {
  peerSet?: string;
  namedSet?: string;
  protocol?: PolicyPort['protocol'];
  ports?: string;
}

function renderMatch(m: Match, dir: Direction, reflect: boolean): string {
  // For ingress the peer is the source; reflected (a reply leaving the pod) it is the destination.
  const peerIsSource = (dir === 'ingress') !== reflect;
  const peer = peerIsSource ? 'ip saddr' : 'ip daddr';
  const port = reflect ? 'th sport' : 'th dport';
  if (m.namedSet) return `${peer} . meta l4proto . ${port} @${m.namedSet} return`;
  const parts = [
    ...(m.peerSet ? [`${peer} @${m.peerSet}`] : []),
    ...(m.protocol ? [`meta l4proto ${m.protocol}`] : []),
    ...(m.ports ? [`${port} ${m.ports}`] : []),
    'return',
  ];
  return parts.join(' ');
}

class Builder {
  readonly sets = new Map<string, SetDef>();
  /** Per local pod and direction, its matches (undefined: not isolated that way). */
  readonly matches = new Map<string, { pod: PodInfo; ingress?: Match[]; egress?: Match[] }>();

  constructor(private readonly input: NetpolInput) {}

  /** The ranges a peer list covers (pods by selector, ipBlocks less excepts). */
  private peerRanges(policy: Policy, peers: readonly PolicyPeer[]): Range[] {
    const ranges: Range[] = [];
    for (const peer of peers) {
      if (peer.ipBlock) {
        const block = cidrRange(peer.ipBlock.cidr);
        if (!block) continue;
        const holes = peer.ipBlock.except.map(cidrRange).filter((r): r is Range => !!r);
        ranges.push(...subtractRanges(block, holes));
        continue;
      }
      for (const p of this.input.selection.peerPods(policy.namespace, peer)) {
        const n = ipv4ToNumber(p.ip);
        if (n !== undefined) ranges.push([n, n]);
      }
    }
    return mergeRanges(ranges);
  }

  /** The pods an egress rule's named ports are resolved on: its peers, or every pod. */
  private namedPeers(policy: Policy, rule: PolicyRule): PodInfo[] {
    const all = this.input.selection.pods;
    if (!rule.peers) return [...all];
    const ranges = this.peerRanges(policy, rule.peers);
    return all.filter((p) => {
      const n = ipv4ToNumber(p.ip);
      return n !== undefined && ranges.some(([s, e]) => n >= s && n <= e);
    });
  }

  private ruleMatches(
    policy: Policy,
    dir: Direction,
    index: number,
    rule: PolicyRule,
    pod: PodInfo,
  ): Match[] {
    const key = `${policy.namespace}/${policy.name}/${index}`;
    let peerSet: string | undefined;
    if (rule.peers) {
      peerSet = nftName(dir === 'ingress' ? 'from' : 'to', key);
      if (!this.sets.has(peerSet)) {
        const elements = this.peerRanges(policy, rule.peers).map(rangeElement);
        this.sets.set(peerSet, { type: 'ipv4_addr', interval: true, elements });
      }
      if (this.sets.get(peerSet)!.elements.length === 0) return []; // names no one
    }
    if (!rule.ports) return [peerSet ? { peerSet } : {}];
    const out: Match[] = [];
    for (const port of rule.ports) {
      const base = { ...(peerSet ? { peerSet } : {}), protocol: port.protocol };
      if (port.port === undefined) out.push(base);
      else if (typeof port.port === 'number')
        out.push({ ...base, ports: port.endPort ? `${port.port}-${port.endPort}` : String(port.port) });
      else if (dir === 'ingress') {
        const n = namedPort(pod, port.port, port.protocol);
        if (n !== undefined) out.push({ ...base, ports: String(n) });
      } else {
        const named = nftName('to', `${key}/ports`);
        if (!this.sets.has(named)) {
          const elements = new Set<string>();
          for (const peer of this.namedPeers(policy, rule))
            for (const q of rule.ports)
              if (typeof q.port === 'string') {
                const n = namedPort(peer, q.port, q.protocol);
                if (n !== undefined) elements.add(`${peer.ip} . ${q.protocol} . ${n}`);
              }
          this.sets.set(named, {
            type: 'ipv4_addr . inet_proto . inet_service',
            interval: false,
            elements: [...elements].sort(),
          });
        }
        if (this.sets.get(named)!.elements.length && !out.some((m) => m.namedSet === named))
          out.push({ namedSet: named });
      }
    }
    return out;
  }

  build(): this {
    const { selection, nodeName } = this.input;
    const local = selection.pods.filter((p) => p.nodeName === nodeName);
    for (const pod of local) {
      const entry: { pod: PodInfo; ingress?: Match[]; egress?: Match[] } = { pod };
      for (const policy of this.input.policies) {
        if (!selection.selects(policy.namespace, policy.podSelector, pod)) continue;
        for (const dir of ['ingress', 'egress'] as const) {
          const rules = policy[dir];
          if (!rules) continue;
          entry[dir] ??= [];
          const acc = entry[dir];
          for (const [i, rule] of rules.entries()) acc.push(...this.ruleMatches(policy, dir, i, rule, pod));
        }
      }
      if (entry.ingress || entry.egress) this.matches.set(pod.ip, entry);
    }
    return this;
  }
}

const unique = (lines: string[]) => [...new Set(lines)];
const byAddress = (a: string, b: string) => (ipv4ToNumber(a) ?? 0) - (ipv4ToNumber(b) ?? 0);

function setText(name: string, s: SetDef): string[] {
  return [
    `  set ${name} {`,
    `    type ${s.type};${s.interval ? ' flags interval;' : ''}`,
    ...(s.elements.length ? [`    elements = { ${s.elements.join(', ')} }`] : []),
    '  }',
  ];
}

function mapText(name: string, entries: [string, string][]): string[] {
  entries.sort((a, b) => byAddress(a[0], b[0]));
  return [
    `  map ${name} {`,
    '    type ipv4_addr : verdict;',
    ...(entries.length
      ? [`    elements = { ${entries.map(([ip, c]) => `${ip} : jump ${c}`).join(', ')} }`]
      : []),
    '  }',
  ];
}

function chainText(name: string, lines: string[]): string[] {
  return [`  chain ${name} {`, ...lines.map((l) => `    ${l}`), '  }'];
}

const podKey = (p: PodInfo) => `${p.namespace}/${p.name}`;

/** The inet table: stateful, on the forward hook. */
function inetTable(b: Builder): string[] {
  const ingress: [string, string][] = [];
  const egress: [string, string][] = [];
  const chains: string[] = [];
  for (const [ip, m] of [...b.matches].sort((x, y) => byAddress(x[0], y[0]))) {
    for (const dir of ['ingress', 'egress'] as const) {
      const matches = m[dir];
      if (!matches) continue;
      const name = nftName(dir, podKey(m.pod));
      (dir === 'ingress' ? ingress : egress).push([ip, name]);
      chains.push(...chainText(name, [...unique(matches.map((x) => renderMatch(x, dir, false))), 'drop']));
    }
  }
  return [
    `table inet ${TABLE} {`,
    ...[...b.sets].flatMap(([n, s]) => setText(n, s)),
    ...mapText('ingress-pods', ingress),
    ...mapText('egress-pods', egress),
    // No base chain while no pod is isolated: unfenced nodes pay nothing per packet.
    ...(chains.length
      ? chainText('forward', [
          'type filter hook forward priority filter; policy accept;',
          'ct state established,related accept',
          'ip saddr vmap @egress-pods',
          'ip daddr vmap @ingress-pods',
        ])
      : []),
    ...chains,
    '}',
  ];
}

/**
 * The bridge table, for frames switched between pods of this node when they bypass the IP
 * hooks. Without connection tracking a reply is told from a request by its ports: a frame
 * from an isolated pod passes its egress rules, or, unless it opens a TCP connection (SYN
 * without ACK), its ingress rules reflected (the peer as destination, the allowed port as
 * source port); a frame to an isolated pod likewise. A pod isolated in one direction only
 * accepts any non-SYN frame the other way, so UDP is less fenced here than on the inet path.
 */
function bridgeTable(b: Builder): string[] {
  const src: [string, string][] = [];
  const dst: [string, string][] = [];
  const chains: string[] = [];
  for (const [ip, m] of [...b.matches].sort((x, y) => byAddress(x[0], y[0]))) {
    const pairs = [
      ['ingress', 'egress', dst, 'bridged-to'],
      ['egress', 'ingress', src, 'bridged-from'],
    ] as const;
    for (const [dir, other, map, prefix] of pairs) {
      const own = m[dir];
      if (!own) continue;
      const back = m[other];
      const name = nftName(prefix, podKey(m.pod));
      map.push([ip, name]);
      chains.push(
        ...chainText(name, [
          ...unique(own.map((x) => renderMatch(x, dir, false))),
          'tcp flags & (syn | ack) == syn drop',
          ...(back ? unique(back.map((x) => renderMatch(x, other, true))) : ['return']),
          'drop',
        ]),
      );
    }
  }
  return [
    `table bridge ${TABLE} {`,
    ...[...b.sets].flatMap(([n, s]) => setText(n, s)),
    ...mapText('bridged-from-pods', src),
    ...mapText('bridged-to-pods', dst),
    ...(chains.length
      ? chainText('forward', [
          'type filter hook forward priority filter; policy accept;',
          'ip saddr vmap @bridged-from-pods',
          'ip daddr vmap @bridged-to-pods',
        ])
      : []),
    ...chains,
    '}',
  ];
}

/** What the node's tables should hold, as the text of their definitions. */
export function netpolTables(input: NetpolInput): { inet: string; bridge?: string } {
  const b = new Builder(input).build();
  const text = (lines: string[]) => `${lines.join('\n')}\n`;
  return { inet: text(inetTable(b)), ...(input.bridgeFallback ? { bridge: text(bridgeTable(b)) } : {}) };
}

/**
 * One `nft -f` script that makes the node's tables exactly `tables` in one transaction: each
 * table is declared (so deleting works whether or not it exists), deleted and written again;
 * a bridge table no longer wanted is deleted.
 */
export function netpolScript(tables: { inet: string; bridge?: string }): string {
  const replace = (family: string, body: string | undefined) => [
    `table ${family} ${TABLE} {}`,
    `delete table ${family} ${TABLE}`,
    ...(body ? [body.trimEnd()] : []),
  ];
  return `${[...replace('inet', tables.inet), ...replace('bridge', tables.bridge)].join('\n')}\n`;
}
