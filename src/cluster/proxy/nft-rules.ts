/**
 * The nftables text for a node's Services (kube-proxy's nftables mode, in its own table
 * `ip berth-proxy` so nothing else's rules are touched): verdict maps from a Service's
 * address, protocol and port to a chain per Service port, which picks a ready endpoint at
 * random (`numgen random mod N vmap`) and jumps to a chain per endpoint that DNATs to it.
 * Pure: the same ports give the same text, which the unit tests compare whole.
 */
import type { ProxyEndpoint, ServicePort } from './service-ports.js';

export const TABLE = 'berth-proxy';
export const FAMILY = 'ip';
/** The packet mark bit that asks the postrouting chain to masquerade (kube-proxy's 0x4000). */
const MASQ_MARK = '0x00004000';

/** The named verdict maps, declared before each apply so they can be flushed. */
export const MAPS: Readonly<Record<string, string>> = {
  'service-ips': 'type ipv4_addr . inet_proto . inet_service : verdict',
  'service-nodeports': 'type inet_proto . inet_service : verdict',
  'no-endpoint-services': 'type ipv4_addr . inet_proto . inet_service : verdict',
  'no-endpoint-nodeports': 'type inet_proto . inet_service : verdict',
};

export interface ProxyRuleOptions {
  /** Pod addresses (--cluster-cidr): ClusterIP traffic from elsewhere (the node) is masqueraded. */
  clusterCidr: string;
}

/**
 * What the table should hold: chains with their rules (a base chain's first line is its
 * `type ... hook ...` header), the affinity sets with their definitions, and each verdict
 * map's elements by key. The backend writes it whole, or only what differs from the last.
 */
export interface RuleSet {
  chains: Map<string, string[]>;
  sets: Map<string, string>;
  elements: Record<string, Map<string, string>>;
}

const svcChain = (p: ServicePort) => `svc-${p.id}`;
const extChain = (p: ServicePort) => `ext-${p.id}`;
const epChain = (p: ServicePort, e: ProxyEndpoint) => `ep-${p.id}/${e.ip}/${e.port}`;
const affinitySet = (p: ServicePort, e: ProxyEndpoint) =>
  `aff-${p.id}/${e.ip}/${e.port}/${p.affinitySeconds}`;
// nft's unquoted names start with a letter and may hold letters, digits, `/`, `-`, `_` and
// `.`: every Kubernetes name, port name and address fits, so names stay readable.

/** The base chains and helpers every rule set has. */
const fixedChains: [string, string[]][] = [
  ['nat-prerouting', ['type nat hook prerouting priority dstnat; policy accept;', 'jump services']],
  ['nat-output', ['type nat hook output priority -100; policy accept;', 'jump services']],
  ['nat-postrouting', ['type nat hook postrouting priority srcnat; policy accept;', 'jump masquerading']],
  // Before DNAT (priority -110): a Service with no ready endpoint is refused at once, not
  // left to time out. Forward for pods, output for the node itself, input for node ports.
  [
    'filter-forward',
    ['type filter hook forward priority -110; policy accept;', 'ct state new jump endpoints-check'],
  ],
  [
    'filter-input',
    ['type filter hook input priority -110; policy accept;', 'ct state new jump endpoints-check'],
  ],
  [
    'filter-output',
    ['type filter hook output priority -110; policy accept;', 'ct state new jump endpoints-check'],
  ],
  [
    'endpoints-check',
    [
      'ip daddr . meta l4proto . th dport vmap @no-endpoint-services',
      'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports',
    ],
  ],
  [
    'services',
    [
      'ip daddr . meta l4proto . th dport vmap @service-ips',
      'fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports',
    ],
  ],
  [
    'masquerading',
    [
      `meta mark & ${MASQ_MARK} == 0 return`,
      `meta mark set meta mark ^ ${MASQ_MARK}`,
      'masquerade fully-random',
    ],
  ],
  ['mark-for-masquerade', [`meta mark set meta mark | ${MASQ_MARK}`]],
  ['reject-chain', ['meta l4proto tcp reject with tcp reset', 'reject']],
];

/** Rules that send a packet to one of `eps` at random, keeping a client on its endpoint with affinity. */
function balance(p: ServicePort, eps: readonly ProxyEndpoint[]): string[] {
  if (eps.length === 0) return ['drop'];
  const rules: string[] = [];
  if (p.affinitySeconds !== undefined)
    for (const e of eps) rules.push(`ip saddr @${affinitySet(p, e)} goto ${epChain(p, e)}`);
  if (eps.length === 1) rules.push(`goto ${epChain(p, eps[0]!)}`);
  else
    rules.push(
      `numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${epChain(p, e)}`).join(', ')} }`,
    );
  return rules;
}

/** The rule set for these Service ports. */
export function proxyRules(ports: readonly ServicePort[], opts: ProxyRuleOptions): RuleSet {
  const chains = new Map<string, string[]>(fixedChains);
  const sets = new Map<string, string>();
  const elements: Record<string, Map<string, string>> = Object.fromEntries(
    Object.keys(MAPS).map((m) => [m, new Map<string, string>()]),
  );
  const add = (map: string, key: string, verdict: string) => elements[map]!.set(key, verdict);
  for (const p of ports) {
    const proto = p.protocol;
    const external = p.nodePort !== undefined || p.externalIPs.length > 0;
    if (p.endpoints.length === 0) {
      for (const ip of [p.clusterIP, ...p.externalIPs])
        add('no-endpoint-services', `${ip} . ${proto} . ${p.port}`, 'goto reject-chain');
      if (p.nodePort !== undefined)
        add('no-endpoint-nodeports', `${proto} . ${p.nodePort}`, 'goto reject-chain');
      continue;
    }
    const local = p.endpoints.filter((e) => e.local);
    add('service-ips', `${p.clusterIP} . ${proto} . ${p.port}`, `goto ${svcChain(p)}`);
    chains.set(svcChain(p), [
      `ip daddr ${p.clusterIP} ip saddr != ${opts.clusterCidr} jump mark-for-masquerade`,
      ...balance(p, p.internalLocal ? local : p.endpoints),
    ]);
    if (external) {
      for (const ip of p.externalIPs)
        add('service-ips', `${ip} . ${proto} . ${p.port}`, `goto ${extChain(p)}`);
      if (p.nodePort !== undefined)
        add('service-nodeports', `${proto} . ${p.nodePort}`, `goto ${extChain(p)}`);
      chains.set(
        extChain(p),
        p.externalLocal
          ? [
              // Pods and the node itself reach every endpoint (masqueraded from the node);
              // outside clients reach only this node's, with their source address kept.
              `ip saddr ${opts.clusterCidr} goto ${svcChain(p)}`,
              'fib saddr type local jump mark-for-masquerade',
              `fib saddr type local goto ${svcChain(p)}`,
              ...balance(p, local),
            ]
          : ['jump mark-for-masquerade', `goto ${svcChain(p)}`],
      );
    }
    for (const e of p.endpoints) {
      const rules = [`ip saddr ${e.ip} jump mark-for-masquerade`]; // hairpin: a pod reaching its own Service
      if (p.affinitySeconds !== undefined) {
        sets.set(affinitySet(p, e), `type ipv4_addr; flags dynamic,timeout; timeout ${p.affinitySeconds}s;`);
        rules.push(`update @${affinitySet(p, e)} { ip saddr }`);
      }
      rules.push(`meta l4proto ${proto} dnat to ${e.ip}:${e.port}`);
      chains.set(epChain(p, e), rules);
    }
  }
  return { chains, sets, elements };
}

/** The whole table as one `nft -f` block. */
export function tableText(rs: RuleSet): string {
  const lines = [`table ${FAMILY} ${TABLE} {`];
  for (const [name, type] of Object.entries(MAPS)) {
    const els = [...rs.elements[name]!].map(([k, v]) => `\t\t\t${k} : ${v},`);
    lines.push(`\tmap ${name} {`, `\t\t${type};`);
    if (els.length) lines.push('\t\telements = {', ...els, '\t\t}');
    lines.push('\t}');
  }
  for (const [name, def] of rs.sets) lines.push(`\tset ${name} { ${def} }`);
  for (const [name, rules] of rs.chains)
    lines.push(`\tchain ${name} {`, ...rules.map((r) => `\t\t${r}`), '\t}');
  lines.push('}', '');
  return lines.join('\n');
}
