import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { namespace, networkPolicy, pod } from './fixtures.js';
import { netpolScript, netpolTables } from './nft-rules.js';
import { readPolicy } from './policy.js';
import { readNamespace, readPod, Selection } from './selection.js';

const namespaces = [namespace('default', { team: 'a' }), namespace('other', { team: 'b' })];
const pods = [
  pod('default', 'web-1', { ip: '10.42.0.5', node: 'n1', labels: { app: 'web' }, ports: { http: 8080 } }),
  pod('default', 'web-2', { ip: '10.42.1.5', node: 'n2', labels: { app: 'web' }, ports: { http: 8081 } }),
  pod('default', 'client', { ip: '10.42.0.6', node: 'n1', labels: { role: 'client' } }),
  pod('other', 'db', { ip: '10.42.1.7', node: 'n2', labels: { app: 'db' }, ports: { pg: 5432 } }),
  pod('other', 'cache', { ip: '10.42.0.8', node: 'n1', labels: { app: 'cache' } }),
];

/** The tables for node n1 (or `node`) with these policies. */
function tablesFor(
  policies: KubeObject[],
  o: { node?: string; bridge?: boolean; podObjects?: KubeObject[] } = {},
) {
  const selection = new Selection(
    (o.podObjects ?? pods).flatMap((p) => readPod(p) ?? []),
    namespaces.map(readNamespace),
  );
  return netpolTables({
    policies: policies.map(readPolicy),
    selection,
    nodeName: o.node ?? 'n1',
    bridgeFallback: o.bridge ?? false,
  });
}

/** The lines of one chain or set of a table's text. */
function block(text: string, head: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${head} {`);
  assert.ok(start >= 0, `${head} missing from:\n${text}`);
  const end = lines.findIndex((l, i) => i > start && l === '  }');
  return lines.slice(start + 1, end).map((l) => l.trim());
}

const denyAll = networkPolicy('default', 'deny-all', { podSelector: {}, policyTypes: ['Ingress'] });
const allowWeb = networkPolicy('default', 'allow-web', {
  podSelector: { matchLabels: { app: 'web' } },
  ingress: [
    {
      from: [{ podSelector: { matchLabels: { role: 'client' } } }],
      ports: [{ port: 'http' }, { protocol: 'UDP', port: 53 }, { port: 9000, endPort: 9010 }],
    },
    {
      from: [
        {
          namespaceSelector: { matchLabels: { team: 'b' } },
          podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'cache'] }] },
        },
      ],
    },
  ],
});
const clientEgress = networkPolicy('default', 'client-out', {
  podSelector: { matchLabels: { role: 'client' } },
  policyTypes: ['Egress'],
  egress: [
    {
      to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.42.0.0/16', '10.0.0.0/24'] } }],
      ports: [{ port: 443 }],
    },
    { to: [{ namespaceSelector: {} }], ports: [{ port: 'pg' }, { port: 'http' }] },
  ],
});

describe('NetworkPolicy rules', () => {
  test('the whole inet table for ingress and egress policies (golden)', () => {
    const { inet, bridge } = tablesFor([denyAll, allowWeb, clientEgress]);
    assert.equal(bridge, undefined);
    assert.equal(inet, GOLDEN);
  });

  test('a pod selected by no policy, and pods of other nodes, get no chain', () => {
    const { inet } = tablesFor([allowWeb]);
    assert.deepEqual(block(inet, 'map ingress-pods'), [
      'type ipv4_addr : verdict;',
      'elements = { 10.42.0.5 : jump ingress-default/web-1 }',
    ]);
    assert.doesNotMatch(inet, /client|web-2/);
  });

  test('no isolated pod on the node: no base chain at all', () => {
    const { inet } = tablesFor([allowWeb], { node: 'n3' });
    assert.doesNotMatch(inet, /hook forward/);
  });

  test('an empty rule list isolates: deny all ingress, deny all egress', () => {
    const { inet } = tablesFor([
      networkPolicy('other', 'lockdown', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    ]);
    assert.deepEqual(block(inet, 'chain ingress-other/cache'), ['drop']);
    assert.deepEqual(block(inet, 'chain egress-other/cache'), ['drop']);
  });

  test('a rule without peers or ports allows everything; peers naming no pod allow nothing', () => {
    const { inet } = tablesFor([
      networkPolicy('default', 'open', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{}] }),
      networkPolicy('default', 'nobody', {
        podSelector: { matchLabels: { role: 'client' } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: 'none' } } }] }],
      }),
    ]);
    assert.deepEqual(block(inet, 'chain ingress-default/web-1'), ['return', 'drop']);
    assert.deepEqual(block(inet, 'chain ingress-default/client'), ['drop']);
  });

  test('a named ingress port the pod does not declare opens nothing', () => {
    const { inet } = tablesFor([
      networkPolicy('default', 'named', {
        podSelector: {},
        ingress: [{ ports: [{ port: 'http' }, { protocol: 'SCTP', port: 'http' }] }],
      }),
    ]);
    assert.deepEqual(block(inet, 'chain ingress-default/web-1'), [
      'meta l4proto tcp th dport 8080 return',
      'drop',
    ]);
    assert.deepEqual(block(inet, 'chain ingress-default/client'), ['drop']);
  });

  test('a namespace selector on kubernetes.io/metadata.name matches without the label stored', () => {
    const { inet } = tablesFor([
      networkPolicy('default', 'from-other', {
        podSelector: {},
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } } }] },
        ],
      }),
    ]);
    assert.deepEqual(block(inet, 'set from-default/from-other/0'), [
      'type ipv4_addr; flags interval;',
      'elements = { 10.42.0.8, 10.42.1.7 }',
    ]);
  });

  test('host-network and finished pods are neither selected nor peers', () => {
    const host = pod('default', 'host', { ip: '192.168.1.1', node: 'n1', labels: { app: 'web' } });
    (host.spec as Record<string, unknown>).hostNetwork = true;
    const done = pod('default', 'done', { ip: '10.42.0.9', node: 'n1', labels: { role: 'client' } });
    (done.status as Record<string, unknown>).phase = 'Succeeded';
    const { inet } = tablesFor([allowWeb], { podObjects: [...pods, host, done] });
    assert.doesNotMatch(inet, /192\.168\.1\.1|10\.42\.0\.9/);
  });

  test('bridge fallback: the same sets, replies let through by their ports', () => {
    const { bridge } = tablesFor([denyAll, allowWeb, clientEgress], { bridge: true });
    assert.ok(bridge);
    assert.deepEqual(block(bridge, 'chain bridged-to-default/web-1'), [
      'ip saddr @from-default/allow-web/0 meta l4proto tcp th dport 8080 return',
      'ip saddr @from-default/allow-web/0 meta l4proto udp th dport 53 return',
      'ip saddr @from-default/allow-web/0 meta l4proto tcp th dport 9000-9010 return',
      'ip saddr @from-default/allow-web/1 return',
      'tcp flags & (syn | ack) == syn drop',
      'return',
      'drop',
    ]);
    // The client may reach out, and what it reaches may answer: replies to an egress rule
    // come in from the allowed port.
    assert.deepEqual(block(bridge, 'chain bridged-to-default/client'), [
      'tcp flags & (syn | ack) == syn drop',
      'ip saddr @to-default/client-out/0 meta l4proto tcp th sport 443 return',
      'ip saddr . meta l4proto . th sport @to-default/client-out/1/ports return',
      'drop',
    ]);
    assert.deepEqual(block(bridge, 'chain bridged-from-default/client'), [
      'ip daddr @to-default/client-out/0 meta l4proto tcp th dport 443 return',
      'ip daddr . meta l4proto . th dport @to-default/client-out/1/ports return',
      'tcp flags & (syn | ack) == syn drop',
      'drop',
    ]);
  });

  test('the script replaces both tables and removes a bridge table no longer wanted', () => {
    const script = netpolScript({ inet: 'table inet berth-netpol {\n}\n' });
    assert.equal(
      script,
      [
        'table inet berth-netpol {}',
        'delete table inet berth-netpol',
        'table inet berth-netpol {',
        '}',
        'table bridge berth-netpol {}',
        'delete table bridge berth-netpol',
        '',
      ].join('\n'),
    );
  });
});

const GOLDEN = `table inet berth-netpol {
  set from-default/allow-web/0 {
    type ipv4_addr; flags interval;
    elements = { 10.42.0.6 }
  }
  set from-default/allow-web/1 {
    type ipv4_addr; flags interval;
    elements = { 10.42.0.8, 10.42.1.7 }
  }
  set to-default/client-out/0 {
    type ipv4_addr; flags interval;
    elements = { 10.0.1.0-10.41.255.255, 10.43.0.0-10.255.255.255 }
  }
  set to-default/client-out/1 {
    type ipv4_addr; flags interval;
    elements = { 10.42.0.5-10.42.0.6, 10.42.0.8, 10.42.1.5, 10.42.1.7 }
  }
  set to-default/client-out/1/ports {
    type ipv4_addr . inet_proto . inet_service;
    elements = { 10.42.0.5 . tcp . 8080, 10.42.1.5 . tcp . 8081, 10.42.1.7 . tcp . 5432 }
  }
  map ingress-pods {
    type ipv4_addr : verdict;
    elements = { 10.42.0.5 : jump ingress-default/web-1, 10.42.0.6 : jump ingress-default/client }
  }
  map egress-pods {
    type ipv4_addr : verdict;
    elements = { 10.42.0.6 : jump egress-default/client }
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    ip saddr vmap @egress-pods
    ip daddr vmap @ingress-pods
  }
  chain ingress-default/web-1 {
    ip saddr @from-default/allow-web/0 meta l4proto tcp th dport 8080 return
    ip saddr @from-default/allow-web/0 meta l4proto udp th dport 53 return
    ip saddr @from-default/allow-web/0 meta l4proto tcp th dport 9000-9010 return
    ip saddr @from-default/allow-web/1 return
    drop
  }
  chain ingress-default/client {
    drop
  }
  chain egress-default/client {
    ip daddr @to-default/client-out/0 meta l4proto tcp th dport 443 return
    ip daddr . meta l4proto . th dport @to-default/client-out/1/ports return
    drop
  }
}
`;
