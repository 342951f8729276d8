import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { parseResolvConf, podDnsConfig, podResolvConf } from './pod-dns.js';

const nodeResolv = join(mkdtempSync(join(tmpdir(), 'pod-dns-')), 'resolv.conf');
writeFileSync(
  nodeResolv,
  '# node\nnameserver 192.0.2.53\nnameserver 192.0.2.54\nsearch corp.example lab.example\noptions edns0 timeout:2\n',
);
const settings = { clusterDns: '10.43.0.10', clusterDomain: 'cluster.local', resolvConf: nodeResolv };
const pod = (spec: Record<string, unknown>, namespace = 'team'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace },
  spec: { containers: [], ...spec },
});

test('ClusterFirst: the cluster DNS, the namespace search path before the node searches, ndots:5', () => {
  const text = podResolvConf(podDnsConfig(pod({}), settings));
  assert.equal(
    text,
    'search team.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.43.0.10\noptions ndots:5\n',
  );
});

test("host network: ClusterFirst gives the node's file, ClusterFirstWithHostNet the cluster's", () => {
  assert.deepEqual(podDnsConfig(pod({ hostNetwork: true }), settings), {
    servers: ['192.0.2.53', '192.0.2.54'],
    searches: ['corp.example', 'lab.example'],
    options: ['edns0', 'timeout:2'],
  });
  const c = podDnsConfig(pod({ hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), settings);
  assert.deepEqual(c.servers, ['10.43.0.10']);
  assert.equal(c.searches[0], 'team.svc.cluster.local');
  // Without host network, ClusterFirstWithHostNet is ClusterFirst.
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'ClusterFirstWithHostNet' }), settings).servers, [
    '10.43.0.10',
  ]);
});

test("Default: the node's servers, searches and options", () => {
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), settings).servers, [
    '192.0.2.53',
    '192.0.2.54',
  ]);
});

test('None with dnsConfig: only what the pod says; dnsConfig merges into the others', () => {
  const none = podDnsConfig(
    pod({
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.2.3.4'],
        searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'],
        options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
      },
    }),
    settings,
  );
  assert.equal(
    podResolvConf(none),
    'search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2 edns0\n',
  );
  const merged = podDnsConfig(
    pod({
      dnsConfig: {
        nameservers: ['10.43.0.10', '9.9.9.9'],
        searches: ['extra.example'],
        options: [{ name: 'ndots', value: '1' }],
      },
    }),
    settings,
  );
  assert.deepEqual(merged.servers, ['10.43.0.10', '9.9.9.9']);
  assert.equal(merged.searches.at(-1), 'extra.example');
  assert.deepEqual(merged.options, ['ndots:1']);
});

test('limits: three servers, 32 search domains', () => {
  const many = podDnsConfig(
    pod({
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'],
        searches: Array.from({ length: 40 }, (_, i) => `s${i}.example`),
      },
    }),
    settings,
  );
  assert.equal(many.servers.length, 3);
  assert.equal(many.searches.length, 32);
});

test('parseResolvConf: comments, the last search or domain line, several options lines', () => {
  assert.deepEqual(
    parseResolvConf(
      'domain a.example\nsearch b.example c.example ; x\noptions a\noptions b\nnameserver ::1\n',
    ),
    {
      servers: ['::1'],
      searches: ['b.example', 'c.example'],
      options: ['a', 'b'],
    },
  );
});
