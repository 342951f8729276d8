/**
 * NetworkPolicies as nftables rules for one node, a pure function of the policies, the pods
 * and namespaces of the cluster and the node's name. Only the node's own pods are isolated
 * here (each node enforces its pods' ingress and egress; a peer may be any pod of the
 * cluster). Every isolated pod and direction gets an allow-list (allow-list.ts): the union of
 * the rules of every policy selecting it, with named ports resolved (ingress: on the pod
 * itself; egress: on each peer pod). The layout, in `table inet berth-netpol`:
 *
 * - per isolated pod and direction, a concatenated interval set (`ingress-NS/POD/ports`,
 *   `egress-NS/POD/ports`: peer address . protocol . port, ranges for ipBlocks and endPort)
 *   and an address interval set for rules without ports (`.../peers`), so a new connection
 *   is one lookup (two when it is allowed by a rule without ports) however many rules there
 *   are; pods whose lists come out the same share the sets of the first of them;
 * - a chain per isolated pod (`ingress-NS/POD`, `egress-NS/POD`) that looks those up
 *   (`return` when allowed) and ends in `drop`;
 * - verdict maps from the pod's address to its chain (`ingress-pods`, `egress-pods`), looked
 *   up by the `forward` base chain after replies of established connections are let through.
 *
 * Where nft or the kernel cannot do concatenations with intervals (before nft 0.9.4 and Linux
 * 5.6), shape `per-port` gives each pod's chain one line per protocol and port range instead,
 * each with an address interval set (`.../0`, `.../1`...; lines allowing the same addresses
 * share one): the same allow-list, a lookup per distinct port range.
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
import { ALL_ADDRESSES, ALL_PORTS, type AllowList, AllowListBuilder, type Box } from './allow-list.js';
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

/**
 * How a pod's allow-list becomes rules: `concatenated`, one set of peer . protocol . port
 * intervals (nft 0.9.4 and Linux 5.6 or later); `per-port`, a line per protocol and port
 * range, each with a set of peer addresses (any nft and kernel with interval sets).
 */
export type SetShape = 'concatenated' | 'per-port';

export interface NetpolInput {
  policies: readonly Policy[];
  selection: Selection;
  nodeName: string;
  /** Bridged frames bypass the IP hooks (no br_netfilter): filter them in the bridge family too. */
  bridgeFallback: boolean;
  /** Default: `concatenated`. */
  shape?: SetShape;
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
  elements: string[];
}

/** One line of a pod's chain, in the rule's own direction or reflected. */
type Match =
  /** peer . protocol . port in a concatenated set */
  | { kind: 'boxes'; set: string }
  /** peer in an address set (every address when `set` is undefined), any protocol and port */
  | { kind: 'peers'; set?: string }
  /** peer in an address set (or any), on one protocol and port range */
  | { kind: 'port'; set?: string; protocol: PolicyPort['protocol']; ports: Range };

const portText = ([s, e]: Range) => (s === e ? String(s) : `${s}-${e}`);
const isAll = (ranges: readonly Range[]) =>
  ranges.length === 1 && ranges[0]![0] === ALL_ADDRESSES[0] && ranges[0]![1] === ALL_ADDRESSES[1];

function renderMatch(m: Match, dir: Direction, reflect: boolean): string {
  // For ingress the peer is the source; reflected (a reply leaving the pod) it is the destination.
  const peerIsSource = (dir === 'ingress') !== reflect;
  const peer = peerIsSource ? 'ip saddr' : 'ip daddr';
  const port = reflect ? 'th sport' : 'th dport';
  if (m.kind === 'boxes') return `${peer} . meta l4proto . ${port} @${m.set} return`;
  const parts = [
    ...(m.set ? [`${peer} @${m.set}`] : []),
    ...(m.kind === 'port' ? [`meta l4proto ${m.protocol}`] : []),
    ...(m.kind === 'port' && (m.ports[0] !== ALL_PORTS[0] || m.ports[1] !== ALL_PORTS[1])
      ? [`${port} ${portText(m.ports)}`]
      : []),
    'return',
  ];
  return parts.join(' ');
}

/** The sets of a table; one with the same type and elements as an earlier one is that one. */
class SetRegistry {
  readonly sets = new Map<string, SetDef>();
  private readonly byContent = new Map<string, string>();

  /** The name to look `def` up by: `name`, or that of an earlier set of `scope` holding the same. */
  add(scope: string, name: string, def: SetDef): string {
    const key = `${scope}|${def.type}|${def.elements.join(',')}`;
    const known = this.byContent.get(key);
    if (known) return known;
    this.byContent.set(key, name);
    this.sets.set(name, def);
    return name;
  }
}

const ADDRESSES = 'ipv4_addr';
const BOXES = 'ipv4_addr . inet_proto . inet_service';

/** A pod's allow-list for one direction as chain lines, registering the sets they look up. */
function allowMatches(
  sets: SetRegistry,
  dir: Direction,
  chain: string,
  list: AllowList,
  shape: SetShape,
): Match[] {
  const out: Match[] = [];
  const addressSet = (name: string, ranges: readonly Range[]) =>
    isAll(ranges) ? undefined : sets.add(dir, name, { type: ADDRESSES, elements: ranges.map(rangeElement) });
  // A rule open to every peer and port makes the rest moot.
  if (isAll(list.anyPort)) return [{ kind: 'peers' }];
  if (shape === 'concatenated') {
    if (list.boxes.length) {
      const elements = list.boxes.map(
        (b) => `${rangeElement(b.addresses)} . ${b.protocol} . ${portText(b.ports)}`,
      );
      out.push({ kind: 'boxes', set: sets.add(dir, `${chain}/ports`, { type: BOXES, elements }) });
    }
  } else {
    // The boxes come sorted by protocol and port: consecutive ones with the same port share a line.
    const groups: { protocol: Box['protocol']; ports: Range; addresses: Range[] }[] = [];
    for (const b of list.boxes) {
      const last = groups[groups.length - 1];
      if (last && last.protocol === b.protocol && portText(last.ports) === portText(b.ports))
        last.addresses.push(b.addresses);
      else groups.push({ protocol: b.protocol, ports: b.ports, addresses: [b.addresses] });
    }
    for (const [i, g] of groups.entries()) {
      const set = addressSet(`${chain}/${i}`, g.addresses);
      out.push({ kind: 'port', protocol: g.protocol, ports: g.ports, ...(set ? { set } : {}) });
    }
  }
  if (list.anyPort.length) {
    const set = addressSet(`${chain}/peers`, list.anyPort);
    out.push({ kind: 'peers', ...(set ? { set } : {}) });
  }
  return out;
}

/** A local pod isolated in at least one direction, with its chains' lines. */
interface Isolated {
  pod: PodInfo;
  ingress?: Match[];
  egress?: Match[];
}

class Builder {
  readonly sets = new SetRegistry();
  /** Isolated local pods by address, in address order. */
  readonly isolated = new Map<string, Isolated>();
  /** Each rule's peers as address ranges (`ingress/NS/POLICY/N`), computed once for every pod it applies to. */
  private readonly peerCache = new Map<string, Range[]>();
  /** Chain lines by the policies they come from (see `build`). */
  private readonly matchCache = new Map<string, Match[]>();

  constructor(private readonly input: NetpolInput) {}

  /** The ranges a peer list covers (pods by selector, ipBlocks less excepts). */
  private peerRanges(key: string, policy: Policy, peers: readonly PolicyPeer[]): Range[] {
    const known = this.peerCache.get(key);
    if (known) return known;
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
    const merged = mergeRanges(ranges);
    this.peerCache.set(key, merged);
    return merged;
  }

  /** Adds what one rule allows `pod` (in direction `dir`) to `acc`. */
  private addRule(
    acc: AllowListBuilder,
    policy: Policy,
    dir: Direction,
    index: number,
    rule: PolicyRule,
    pod: PodInfo,
  ): void {
    const key = `${dir}/${policy.namespace}/${policy.name}/${index}`;
    const peers = rule.peers ? this.peerRanges(key, policy, rule.peers) : [ALL_ADDRESSES];
    if (!peers.length) return; // names no one
    if (!rule.ports) {
      acc.addAnyPort(peers);
      return;
    }
    for (const port of rule.ports) {
      if (port.port === undefined) acc.add(peers, port.protocol, ALL_PORTS);
      else if (typeof port.port === 'number')
        acc.add(peers, port.protocol, [port.port, port.endPort ?? port.port]);
      else if (dir === 'ingress') {
        const n = namedPort(pod, port.port, port.protocol);
        if (n !== undefined) acc.add(peers, port.protocol, [n, n]);
      } else {
        // Egress to a named port: each peer pod's own number for that name.
        for (const peer of this.input.selection.pods) {
          const a = ipv4ToNumber(peer.ip);
          const n = namedPort(peer, port.port, port.protocol);
          if (a === undefined || n === undefined || !peers.some(([s, e]) => a >= s && a <= e)) continue;
          acc.add([[a, a]], port.protocol, [n, n]);
        }
      }
    }
  }

  build(): this {
    const { selection, nodeName, policies, shape = 'concatenated' } = this.input;
    const local = selection.pods
      .filter((p) => p.nodeName === nodeName && ipv4ToNumber(p.ip) !== undefined)
      .sort((a, b) => byAddress(a.ip, b.ip));
    for (const pod of local) {
      const selecting = [...policies.keys()].filter((i) => {
        const p = policies[i]!;
        return selection.selects(p.namespace, p.podSelector, pod);
      });
      const entry: Isolated = { pod };
      for (const dir of ['ingress', 'egress'] as const) {
        const mine = selecting.filter((i) => policies[i]![dir]);
        if (!mine.length) continue;
        // Pods selected by the same policies (and, for named ingress ports, declaring the same
        // ports) have the same lines: computed once, for the first of them.
        const key = `${dir}|${mine.join(',')}|${dir === 'ingress' ? JSON.stringify(pod.ports) : ''}`;
        let matches = this.matchCache.get(key);
        if (!matches) {
          const list = new AllowListBuilder();
          for (const i of mine)
            for (const [n, rule] of policies[i]![dir]!.entries())
              this.addRule(list, policies[i]!, dir, n, rule, pod);
          matches = allowMatches(this.sets, dir, chainName(dir, pod), list.build(), shape);
          this.matchCache.set(key, matches);
        }
        entry[dir] = matches;
      }
      if (entry.ingress || entry.egress) this.isolated.set(pod.ip, entry);
    }
    return this;
  }
}

const byAddress = (a: string, b: string) => (ipv4ToNumber(a) ?? 0) - (ipv4ToNumber(b) ?? 0);
const podKey = (p: PodInfo) => `${p.namespace}/${p.name}`;
const chainName = (dir: Direction, p: PodInfo) => nftName(dir, podKey(p));

function setText(name: string, s: SetDef): string[] {
  return [
    `  set ${name} {`,
    `    type ${s.type}; flags interval;`,
    ...(s.elements.length ? [`    elements = { ${s.elements.join(', ')} }`] : []),
    '  }',
  ];
}

function mapText(name: string, entries: [string, string][]): string[] {
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

/** The inet table: stateful, on the forward hook. */
function inetTable(b: Builder): string[] {
  const ingress: [string, string][] = [];
  const egress: [string, string][] = [];
  const chains: string[] = [];
  for (const [ip, m] of b.isolated) {
    for (const dir of ['ingress', 'egress'] as const) {
      const matches = m[dir];
      if (!matches) continue;
      const name = chainName(dir, m.pod);
      (dir === 'ingress' ? ingress : egress).push([ip, name]);
      chains.push(...chainText(name, [...matches.map((x) => renderMatch(x, dir, false)), 'drop']));
    }
  }
  return [
    `table inet ${TABLE} {`,
    ...[...b.sets.sets].flatMap(([n, s]) => setText(n, s)),
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
  for (const [ip, m] of b.isolated) {
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
          ...own.map((x) => renderMatch(x, dir, false)),
          'tcp flags & (syn | ack) == syn drop',
          ...(back ? back.map((x) => renderMatch(x, other, true)) : ['return']),
          'drop',
        ]),
      );
    }
  }
  return [
    `table bridge ${TABLE} {`,
    ...[...b.sets.sets].flatMap(([n, s]) => setText(n, s)),
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
