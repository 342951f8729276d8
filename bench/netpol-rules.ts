/**
 * bench/netpol-rules: what the NetworkPolicy rules cost a new connection, in CPU time, which
 * the machine's other load moves far less than bench/netpol's request rates. Three network
 * namespaces made for the run: a client (10.42.0.6) connects through a router, whose forward
 * hook holds the node's tables for bench/netpol's policies (all selecting the server, the last
 * admitting the client), to a server address (10.42.1.5) with nothing listening, so each
 * connection is one SYN walking the rules and a reset coming back. Per round, the connecting
 * process's CPU time per connection (the packets' softirq work runs in its context) with no
 * policy table (connection tracking on in every case), with the concatenated sets and with
 * shape `per-port` (a line per port; the client's port is the last line, as its rule was the
 * last of 200 lines before the sets). As root:
 *   node --import tsx bench/netpol-rules.ts [connections=10000] [rounds=5] [policies=200]
 */

import { namespace, pod } from '../src/cluster/netpol/fixtures.js';
import { netpolScript, netpolTables, type SetShape } from '../src/cluster/netpol/nft-rules.js';
import { readPolicy } from '../src/cluster/netpol/policy.js';
import { readNamespace, readPod, Selection } from '../src/cluster/netpol/selection.js';
import { run } from '../src/core/exec.js';
import { have, percentile } from './lib/measure.js';
import { benchPolicy } from './lib/netpol-policies.js';

const [connections, rounds, policyCount] = [10_000, 5, 200].map((d, i) =>
  Number(process.argv[2 + i] ?? d),
) as [number, number, number];

if (!have('nft') || process.getuid?.() !== 0) {
  console.log('bench/netpol-rules needs root and nft (scripts/install-deps)');
  process.exit(0);
}

const ns = (n: string) => `berth-nprules-${process.pid}-${n}`;
const inNs = (n: string, file: string, args: string[], input?: string) =>
  run('nsenter', [`--net=/run/netns/${ns(n)}`, file, ...args], input === undefined ? {} : { input });

/** Client a and server b, each with a veth to router c. */
async function wire(): Promise<void> {
  for (const n of ['a', 'b', 'c']) {
    await run('ip', ['netns', 'add', ns(n)]);
    await inNs(n, 'ip', ['link', 'set', 'lo', 'up']);
  }
  for (const [end, subnet, addr] of [
    ['a', '10.42.0', '10.42.0.6'],
    ['b', '10.42.1', '10.42.1.5'],
  ] as const) {
    const [outer, inner] = [`np${process.pid}${end}`, `np${process.pid}${end}c`];
    await run('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
    await run('ip', ['link', 'set', outer, 'netns', ns(end)]);
    await run('ip', ['link', 'set', inner, 'netns', ns('c')]);
    await inNs(end, 'ip', ['addr', 'add', `${addr}/24`, 'dev', outer]);
    await inNs(end, 'ip', ['link', 'set', outer, 'up']);
    await inNs(end, 'ip', ['route', 'add', 'default', 'via', `${subnet}.1`]);
    await inNs('c', 'ip', ['addr', 'add', `${subnet}.1/24`, 'dev', inner]);
    await inNs('c', 'ip', ['link', 'set', inner, 'up']);
  }
  await inNs('c', 'sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
}

/** The node's tables for the policies, as the agent writes them in `shape`. */
function script(shape: SetShape): string {
  const pods = [
    pod('default', 'web', { ip: '10.42.1.5', node: 'n1', labels: { app: 'web' } }),
    pod('default', 'client', { ip: '10.42.0.6', node: 'n1', labels: { role: 'client' } }),
  ];
  const policies = Array.from({ length: policyCount }, (_, i) => readPolicy(benchPolicy(i, policyCount)));
  const selection = new Selection(
    pods.flatMap((p) => readPod(p) ?? []),
    [readNamespace(namespace('default'))],
  );
  return netpolScript(netpolTables({ policies, selection, nodeName: 'n1', bridgeFallback: false, shape }));
}

/** Connects `connections` times from the client; the CPU time it took per connection, in us. */
// Each must be refused by the server (its reset is the proof that the SYN got through the rules).
const CONNECT = `
const net = require('node:net');
let refused = 0;
const once = () => new Promise((done) => {
  const s = net.connect({ host: '10.42.1.5', port: 8080 });
  s.on('error', (e) => { if (e.code === 'ECONNREFUSED') refused++; done(); });
  s.on('connect', () => { s.destroy(); done(); });
});
(async () => {
  for (let i = 0; i < 500; i++) await once();
  const c0 = process.cpuUsage();
  for (let i = 0; i < ${connections}; i++) await once();
  const c = process.cpuUsage(c0);
  console.log((c.user + c.system) / ${connections}, refused);
})();`;

const kinds = ['none', 'concatenated', 'per-port'] as const;
const cpu: Record<(typeof kinds)[number], number[]> = { none: [], concatenated: [], 'per-port': [] };
try {
  await wire();
  // Connection tracking in every case, as on a node (the Service proxy's NAT needs it anyway):
  // the difference is the rules' own cost.
  await inNs('c', 'nft', ['add', 'table', 'inet', 'conntrack']);
  await inNs('c', 'nft', ['add chain inet conntrack raw { type filter hook forward priority raw; }']);
  await inNs('c', 'nft', ['add rule inet conntrack raw ct state invalid drop']);
  const empty = `table inet berth-netpol {}\ndelete table inet berth-netpol\n`;
  for (let r = 0; r < rounds; r++)
    for (const kind of r % 2 ? [...kinds].reverse() : kinds) {
      await inNs('c', 'nft', ['-f', '-'], kind === 'none' ? empty : script(kind));
      const [us, refused] = (await inNs('a', process.execPath, ['-e', CONNECT])).stdout
        .trim()
        .split(' ')
        .map(Number);
      if (refused !== connections + 500)
        throw new Error(`Only ${refused} connections reached the server (${kind})`);
      cpu[kind].push(us ?? Number.NaN);
    }
  const signed = (d: number) => `${d >= 0 ? '+' : ''}${d.toFixed(1)}`;
  const median = (k: (typeof kinds)[number]) => percentile(cpu[k], 50);
  const line = (k: (typeof kinds)[number]) =>
    `${k} ${median(k).toFixed(1)} us (${signed(median(k) - median('none'))}; rounds ${cpu[k].map((v) => v.toFixed(1)).join(' ')})`;
  console.log(
    `CPU per new connection through ${policyCount} NetworkPolicies (${connections} connections x ${rounds} rounds, medians): no table ${median('none').toFixed(1)} us; ${line('concatenated')}; ${line('per-port')}`,
  );
} finally {
  for (const n of ['a', 'b', 'c']) await run('ip', ['netns', 'delete', ns(n)], { check: false });
}
