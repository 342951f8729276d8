import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { service, slice } from './fixtures.js';
import { proxyRules, tableText } from './nft-rules.js';
import { servicePorts } from './service-ports.js';

const opts = { clusterCidr: '10.42.0.0/16' };
/** The rules for these objects on node n1: the table's text and the affinity sets' names. */
const rulesFor = (
  services: Parameters<typeof servicePorts>[0],
  slices: Parameters<typeof servicePorts>[1],
) => {
  const rs = proxyRules(servicePorts(services, slices, 'n1'), opts);
  return { text: tableText(rs), sets: [...rs.sets.keys()] };
};

/** The chains a rule set defines beyond the fixed ones, with their rules. */
const chainsOf = (text: string) =>
  Object.fromEntries(
    [...text.matchAll(/\tchain ((?:svc|ext|ep)-\S+) \{\n((?:\t\t.*\n)*)\t\}/g)].map((m) => [
      m[1],
      m[2]!
        .split('\n')
        .filter(Boolean)
        .map((l) => l.trim()),
    ]),
  );
const mapOf = (text: string, name: string) => {
  const m = new RegExp(
    `\\tmap ${name} \\{\\n\\t\\t[^\\n]*\\n(?:\\t\\telements = \\{\\n((?:\\t\\t\\t.*\\n)*)\\t\\t\\}\\n)?\\t\\}`,
  ).exec(text);
  assert.ok(m, `map ${name} missing`);
  return (m[1] ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().replace(/,$/, ''));
};

describe('proxy rules', () => {
  test('a ClusterIP Service with two ready endpoints, a terminating and a not-ready one', () => {
    const r = rulesFor(
      [service('web', { clusterIP: '10.43.0.20', ports: [{ name: 'http', port: 80, targetPort: 'web' }] })],
      [
        slice(
          'web',
          [{ name: 'http', port: 8080 }],
          [
            { ip: '10.42.0.6', node: 'n1' },
            { ip: '10.42.1.5', node: 'n2' },
            { ip: '10.42.0.7', node: 'n1', terminating: true },
            { ip: '10.42.0.8', node: 'n1', ready: false },
          ],
        ),
      ],
    );
    assert.deepEqual(mapOf(r.text, 'service-ips'), ['10.43.0.20 . tcp . 80 : goto svc-default/web/http']);
    assert.deepEqual(mapOf(r.text, 'no-endpoint-services'), []);
    assert.deepEqual(chainsOf(r.text), {
      'svc-default/web/http': [
        'ip daddr 10.43.0.20 ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
        'numgen random mod 2 vmap { 0 : goto ep-default/web/http/10.42.0.6/8080, 1 : goto ep-default/web/http/10.42.1.5/8080 }',
      ],
      'ep-default/web/http/10.42.0.6/8080': [
        'ip saddr 10.42.0.6 jump mark-for-masquerade',
        'meta l4proto tcp dnat to 10.42.0.6:8080',
      ],
      'ep-default/web/http/10.42.1.5/8080': [
        'ip saddr 10.42.1.5 jump mark-for-masquerade',
        'meta l4proto tcp dnat to 10.42.1.5:8080',
      ],
    });
  });

  test('the whole text of a NodePort Service, with its fixed chains', () => {
    const r = rulesFor(
      [service('np', { type: 'NodePort', clusterIP: '10.43.0.30', ports: [{ port: 80, nodePort: 30080 }] })],
      [slice('np', [{ port: 80 }], [{ ip: '10.42.0.9', node: 'n1' }])],
    );
    assert.equal(
      r.text,
      `table ip berth-proxy {
\tmap service-ips {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict;
\t\telements = {
\t\t\t10.43.0.30 . tcp . 80 : goto svc-default/np/80,
\t\t}
\t}
\tmap service-nodeports {
\t\ttype inet_proto . inet_service : verdict;
\t\telements = {
\t\t\ttcp . 30080 : goto ext-default/np/80,
\t\t}
\t}
\tmap no-endpoint-services {
\t\ttype ipv4_addr . inet_proto . inet_service : verdict;
\t}
\tmap no-endpoint-nodeports {
\t\ttype inet_proto . inet_service : verdict;
\t}
\tchain nat-prerouting {
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\tjump services
\t}
\tchain nat-output {
\t\ttype nat hook output priority -100; policy accept;
\t\tjump services
\t}
\tchain nat-postrouting {
\t\ttype nat hook postrouting priority srcnat; policy accept;
\t\tjump masquerading
\t}
\tchain filter-forward {
\t\ttype filter hook forward priority -110; policy accept;
\t\tct state new jump endpoints-check
\t}
\tchain filter-input {
\t\ttype filter hook input priority -110; policy accept;
\t\tct state new jump endpoints-check
\t}
\tchain filter-output {
\t\ttype filter hook output priority -110; policy accept;
\t\tct state new jump endpoints-check
\t}
\tchain endpoints-check {
\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services
\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports
\t}
\tchain services {
\t\tip daddr . meta l4proto . th dport vmap @service-ips
\t\tfib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports
\t}
\tchain masquerading {
\t\tmeta mark & 0x00004000 == 0 return
\t\tmeta mark set meta mark ^ 0x00004000
\t\tmasquerade fully-random
\t}
\tchain mark-for-masquerade {
\t\tmeta mark set meta mark | 0x00004000
\t}
\tchain reject-chain {
\t\tmeta l4proto tcp reject with tcp reset
\t\treject
\t}
\tchain svc-default/np/80 {
\t\tip daddr 10.43.0.30 ip saddr != 10.42.0.0/16 jump mark-for-masquerade
\t\tgoto ep-default/np/80/10.42.0.9/80
\t}
\tchain ext-default/np/80 {
\t\tjump mark-for-masquerade
\t\tgoto svc-default/np/80
\t}
\tchain ep-default/np/80/10.42.0.9/80 {
\t\tip saddr 10.42.0.9 jump mark-for-masquerade
\t\tmeta l4proto tcp dnat to 10.42.0.9:80
\t}
}
`,
    );
  });

  test('LoadBalancer with externalTrafficPolicy Local: its ingress IPs, node port, only local endpoints', () => {
    const r = rulesFor(
      [
        service(
          'lb',
          {
            type: 'LoadBalancer',
            clusterIP: '10.43.0.40',
            externalTrafficPolicy: 'Local',
            ports: [{ name: 'http', port: 80, nodePort: 31000 }],
          },
          { status: { loadBalancer: { ingress: [{ ip: '192.168.5.1' }, { ip: '192.168.5.2' }] } } },
        ),
      ],
      [
        slice(
          'lb',
          [{ name: 'http', port: 80 }],
          [
            { ip: '10.42.0.2', node: 'n1' },
            { ip: '10.42.1.2', node: 'n2' },
          ],
        ),
      ],
    );
    assert.deepEqual(mapOf(r.text, 'service-ips'), [
      '10.43.0.40 . tcp . 80 : goto svc-default/lb/http',
      '192.168.5.1 . tcp . 80 : goto ext-default/lb/http',
      '192.168.5.2 . tcp . 80 : goto ext-default/lb/http',
    ]);
    assert.deepEqual(mapOf(r.text, 'service-nodeports'), ['tcp . 31000 : goto ext-default/lb/http']);
    assert.deepEqual(chainsOf(r.text)['ext-default/lb/http'], [
      'ip saddr 10.42.0.0/16 goto svc-default/lb/http',
      'fib saddr type local jump mark-for-masquerade',
      'fib saddr type local goto svc-default/lb/http',
      'goto ep-default/lb/http/10.42.0.2/80',
    ]);
  });

  test('internalTrafficPolicy Local with no local endpoint drops; no ready endpoint at all rejects', () => {
    const r = rulesFor(
      [
        service('itp', { clusterIP: '10.43.0.50', internalTrafficPolicy: 'Local', ports: [{ port: 80 }] }),
        service('none', {
          type: 'NodePort',
          clusterIP: '10.43.0.51',
          ports: [{ port: 53, protocol: 'UDP', nodePort: 30053 }],
        }),
      ],
      [
        slice('itp', [{ port: 80 }], [{ ip: '10.42.1.3', node: 'n2' }]),
        slice('none', [{ port: 53, protocol: 'UDP' }], [{ ip: '10.42.0.4', node: 'n1', terminating: true }]),
      ],
    );
    assert.deepEqual(chainsOf(r.text)['svc-default/itp/80'], [
      'ip daddr 10.43.0.50 ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
      'drop',
    ]);
    assert.deepEqual(mapOf(r.text, 'no-endpoint-services'), ['10.43.0.51 . udp . 53 : goto reject-chain']);
    assert.deepEqual(mapOf(r.text, 'no-endpoint-nodeports'), ['udp . 30053 : goto reject-chain']);
    assert.equal(chainsOf(r.text)['svc-default/none/53'], undefined);
  });

  test('sessionAffinity ClientIP: a timed set per endpoint, checked before the random choice', () => {
    const r = rulesFor(
      [
        service('sticky', {
          clusterIP: '10.43.0.60',
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } },
          ports: [{ port: 80 }],
        }),
      ],
      [
        slice(
          'sticky',
          [{ port: 80 }],
          [
            { ip: '10.42.0.2', node: 'n1' },
            { ip: '10.42.0.3', node: 'n1' },
          ],
        ),
      ],
    );
    assert.deepEqual(r.sets, [
      'aff-default/sticky/80/10.42.0.2/80/600',
      'aff-default/sticky/80/10.42.0.3/80/600',
    ]);
    assert.match(
      r.text,
      /set aff-default\/sticky\/80\/10.42.0.2\/80\/600 \{ type ipv4_addr; flags dynamic,timeout; timeout 600s; \}/,
    );
    assert.deepEqual(chainsOf(r.text)['svc-default/sticky/80'], [
      'ip daddr 10.43.0.60 ip saddr != 10.42.0.0/16 jump mark-for-masquerade',
      'ip saddr @aff-default/sticky/80/10.42.0.2/80/600 goto ep-default/sticky/80/10.42.0.2/80',
      'ip saddr @aff-default/sticky/80/10.42.0.3/80/600 goto ep-default/sticky/80/10.42.0.3/80',
      'numgen random mod 2 vmap { 0 : goto ep-default/sticky/80/10.42.0.2/80, 1 : goto ep-default/sticky/80/10.42.0.3/80 }',
    ]);
    assert.deepEqual(chainsOf(r.text)['ep-default/sticky/80/10.42.0.3/80'], [
      'ip saddr 10.42.0.3 jump mark-for-masquerade',
      'update @aff-default/sticky/80/10.42.0.3/80/600 { ip saddr }',
      'meta l4proto tcp dnat to 10.42.0.3:80',
    ]);
  });

  test('multiple named ports resolve their target ports by name from the slices', () => {
    const ports = servicePorts(
      [
        service('multi', {
          clusterIP: '10.43.0.70',
          ports: [
            { name: 'http', port: 80, targetPort: 'web' },
            { name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' },
          ],
        }),
      ],
      [
        slice(
          'multi',
          [
            { name: 'http', port: 8080 },
            { name: 'dns', port: 5353, protocol: 'UDP' },
          ],
          [{ ip: '10.42.0.2', node: 'n1' }],
        ),
        // A second slice for pods that name their ports differently.
        slice('multi', [{ name: 'http', port: 9090 }], [{ ip: '10.42.0.3', node: 'n1' }], 'multi-fghij'),
      ],
      'n1',
    );
    assert.deepEqual(
      ports.map((p) => [p.id, p.protocol, p.port, p.endpoints.map((e) => `${e.ip}:${e.port}`)]),
      [
        ['default/multi/dns', 'udp', 53, ['10.42.0.2:5353']],
        ['default/multi/http', 'tcp', 80, ['10.42.0.2:8080', '10.42.0.3:9090']],
      ],
    );
  });

  test('ExternalName, headless and node-local Services get no rules', () => {
    const ports = servicePorts(
      [
        service('ext', { type: 'ExternalName', externalName: 'example.com' }),
        service('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
        service(
          'kube-dns',
          { clusterIP: '10.43.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] },
          {
            metadata: {
              namespace: 'kube-system',
              name: 'kube-dns',
              annotations: { 'berth.dev/node-local': 'true' },
            },
          },
        ),
      ],
      [slice('headless', [{ port: 80 }], [{ ip: '10.42.0.2', node: 'n1' }])],
      'n1',
    );
    assert.deepEqual(ports, []);
  });

  test('what could not have passed validation never reaches the rule text', () => {
    const ports = servicePorts(
      [
        service('bad-port-name', {
          clusterIP: '10.43.0.80',
          ports: [{ name: 'x\nflush ruleset', port: 80 }],
        }),
        service('bad-number', { clusterIP: '10.43.0.81', ports: [{ port: '80 accept' }] }),
        service('bad-ip', { clusterIP: '10.43.0.300', ports: [{ port: 80 }] }),
        service('ok', { clusterIP: '10.43.0.82', ports: [{ port: 80 }] }),
      ],
      [
        slice('ok', [{ port: 80 }], [{ ip: '10.42.0.2 ; drop', node: 'n1' }]),
        slice('ok', [{ port: 80 }], [{ ip: '10.42.0.3', node: 'n1' }], 'ok-2'),
      ],
      'n1',
    );
    assert.deepEqual(
      ports.map((p) => [p.id, p.endpoints.map((e) => e.ip)]),
      [['default/ok/80', ['10.42.0.3']]],
    );
  });
});
