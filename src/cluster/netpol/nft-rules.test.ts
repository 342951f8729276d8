import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  allowWeb,
  clientEgress,
  denyAll,
  networkPolicy,
  pod,
  pods,
  portRangePolicy,
  tablesFor,
} from './fixtures.js';
import { netpolScript } from './nft-rules.js';

/** The lines of one chain or set of a table's text. */
function block(text: string, head: string): string[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${head} {`);
  assert.ok(start >= 0, `${head} missing from:\n${text}`);
  const end = lines.findIndex((l, i) => i > start && l === '  }');
  return lines.slice(start + 1, end).map((l) => l.trim());
}

describe('NetworkPolicy rules', () => {
  test('the whole inet table for ingress and egress policies (golden)', () => {
    const { inet, bridge } = tablesFor([denyAll, allowWeb, clientEgress]);
    assert.equal(bridge, undefined);
    assert.equal(inet, GOLDEN);
  });

  test('the same policies where nft or the kernel lack concatenated intervals (golden)', () => {
    const { inet } = tablesFor([denyAll, allowWeb, clientEgress], { shape: 'per-port' });
    assert.equal(inet, GOLDEN_PER_PORT);
  });

  test('rules overlapping across policies become disjoint elements; excepts are holes; a protocol alone is every port', () => {
    const policies = [
      portRangePolicy('wide', '10.0.0.0/8', 80, 90),
      portRangePolicy('narrow', '10.1.0.0/16', 85, 100),
    ];
    assert.deepEqual(block(tablesFor(policies).inet, 'set ingress-default/web-1/ports'), [
      'type ipv4_addr . inet_proto . inet_service; flags interval;',
      'elements = { 10.0.0.0-10.1.1.255 . tcp . 80-90, 10.1.3.0-10.255.255.255 . tcp . 80-90, ' +
        '10.1.0.0-10.1.1.255 . tcp . 91-100, 10.1.3.0-10.1.255.255 . tcp . 91-100, ' +
        '10.0.0.0-10.1.1.255 . udp . 0-65535, 10.1.3.0-10.255.255.255 . udp . 0-65535 }',
    ]);
    const perPort = tablesFor(policies, { shape: 'per-port' }).inet;
    assert.deepEqual(block(perPort, 'chain ingress-default/web-1'), [
      'ip saddr @ingress-default/web-1/0 meta l4proto tcp th dport 80-90 return',
      'ip saddr @ingress-default/web-1/1 meta l4proto tcp th dport 91-100 return',
      'ip saddr @ingress-default/web-1/0 meta l4proto udp return',
      'drop',
    ]);
  });

  test('pods selected by the same policies share their sets', () => {
    const { inet } = tablesFor([allowWeb, clientEgress], {
      podObjects: [
        ...pods,
        pod('default', 'web-3', {
          ip: '10.42.0.9',
          node: 'n1',
          labels: { app: 'web' },
          ports: { http: 8080 },
        }),
      ],
    });
    assert.deepEqual(block(inet, 'chain ingress-default/web-3'), block(inet, 'chain ingress-default/web-1'));
    assert.equal(inet.match(/set ingress-/g)?.length, 2);
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
    const named = networkPolicy('default', 'named', {
      podSelector: {},
      ingress: [{ ports: [{ port: 'http' }, { protocol: 'SCTP', port: 'http' }] }],
    });
    const { inet } = tablesFor([named]);
    assert.deepEqual(block(inet, 'set ingress-default/web-1/ports'), [
      'type ipv4_addr . inet_proto . inet_service; flags interval;',
      'elements = { 0.0.0.0-255.255.255.255 . tcp . 8080 }',
    ]);
    assert.deepEqual(block(inet, 'chain ingress-default/client'), ['drop']);
    const perPort = tablesFor([named], { shape: 'per-port' }).inet;
    assert.deepEqual(block(perPort, 'chain ingress-default/web-1'), [
      'meta l4proto tcp th dport 8080 return',
      'drop',
    ]);
    assert.deepEqual(block(perPort, 'chain ingress-default/client'), ['drop']);
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
    assert.deepEqual(block(inet, 'set ingress-default/web-1/peers'), [
      'type ipv4_addr; flags interval;',
      'elements = { 10.42.0.8, 10.42.1.7 }',
    ]);
    // The client's list is the same: it looks up web-1's set rather than a copy.
    assert.deepEqual(block(inet, 'chain ingress-default/client'), [
      'ip saddr @ingress-default/web-1/peers return',
      'drop',
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
    const { inet, bridge } = tablesFor([denyAll, allowWeb, clientEgress], { bridge: true });
    assert.ok(bridge);
    const sets = (text: string) => text.split('\n').filter((l) => /^ {2}set /.test(l));
    assert.deepEqual(sets(bridge), sets(inet));
    assert.deepEqual(block(bridge, 'chain bridged-to-default/web-1'), [
      'ip saddr . meta l4proto . th dport @ingress-default/web-1/ports return',
      'ip saddr @ingress-default/web-1/peers return',
      'tcp flags & (syn | ack) == syn drop',
      'return',
      'drop',
    ]);
    // The client may reach out, and what it reaches may answer: replies to an egress rule
    // come in from the allowed port.
    assert.deepEqual(block(bridge, 'chain bridged-to-default/client'), [
      'tcp flags & (syn | ack) == syn drop',
      'ip saddr . meta l4proto . th sport @egress-default/client/ports return',
      'drop',
    ]);
    assert.deepEqual(block(bridge, 'chain bridged-from-default/client'), [
      'ip daddr . meta l4proto . th dport @egress-default/client/ports return',
      'tcp flags & (syn | ack) == syn drop',
      'drop',
    ]);
    const perPort = tablesFor([denyAll, allowWeb, clientEgress], { bridge: true, shape: 'per-port' }).bridge;
    assert.ok(perPort);
    assert.deepEqual(block(perPort, 'chain bridged-to-default/client'), [
      'tcp flags & (syn | ack) == syn drop',
      'ip saddr @egress-default/client/0 meta l4proto tcp th sport 443 return',
      'ip saddr @egress-default/client/1 meta l4proto tcp th sport 5432 return',
      'ip saddr @egress-default/client/2 meta l4proto tcp th sport 8080 return',
      'ip saddr @egress-default/client/3 meta l4proto tcp th sport 8081 return',
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
  set ingress-default/web-1/ports {
    type ipv4_addr . inet_proto . inet_service; flags interval;
    elements = { 10.42.0.6 . tcp . 8080, 10.42.0.6 . tcp . 9000-9010, 10.42.0.6 . udp . 53 }
  }
  set ingress-default/web-1/peers {
    type ipv4_addr; flags interval;
    elements = { 10.42.0.8, 10.42.1.7 }
  }
  set egress-default/client/ports {
    type ipv4_addr . inet_proto . inet_service; flags interval;
    elements = { 10.0.1.0-10.41.255.255 . tcp . 443, 10.43.0.0-10.255.255.255 . tcp . 443, 10.42.1.7 . tcp . 5432, 10.42.0.5 . tcp . 8080, 10.42.1.5 . tcp . 8081 }
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
    ip saddr . meta l4proto . th dport @ingress-default/web-1/ports return
    ip saddr @ingress-default/web-1/peers return
    drop
  }
  chain ingress-default/client {
    drop
  }
  chain egress-default/client {
    ip daddr . meta l4proto . th dport @egress-default/client/ports return
    drop
  }
}
`;

const GOLDEN_PER_PORT = `table inet berth-netpol {
  set ingress-default/web-1/0 {
    type ipv4_addr; flags interval;
    elements = { 10.42.0.6 }
  }
  set ingress-default/web-1/peers {
    type ipv4_addr; flags interval;
    elements = { 10.42.0.8, 10.42.1.7 }
  }
  set egress-default/client/0 {
    type ipv4_addr; flags interval;
    elements = { 10.0.1.0-10.41.255.255, 10.43.0.0-10.255.255.255 }
  }
  set egress-default/client/1 {
    type ipv4_addr; flags interval;
    elements = { 10.42.1.7 }
  }
  set egress-default/client/2 {
    type ipv4_addr; flags interval;
    elements = { 10.42.0.5 }
  }
  set egress-default/client/3 {
    type ipv4_addr; flags interval;
    elements = { 10.42.1.5 }
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
    ip saddr @ingress-default/web-1/0 meta l4proto tcp th dport 8080 return
    ip saddr @ingress-default/web-1/0 meta l4proto tcp th dport 9000-9010 return
    ip saddr @ingress-default/web-1/0 meta l4proto udp th dport 53 return
    ip saddr @ingress-default/web-1/peers return
    drop
  }
  chain ingress-default/client {
    drop
  }
  chain egress-default/client {
    ip daddr @egress-default/client/0 meta l4proto tcp th dport 443 return
    ip daddr @egress-default/client/1 meta l4proto tcp th dport 5432 return
    ip daddr @egress-default/client/2 meta l4proto tcp th dport 8080 return
    ip daddr @egress-default/client/3 meta l4proto tcp th dport 8081 return
    drop
  }
}
`;
