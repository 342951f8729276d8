import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { answerMessage, Rcode } from '../../engine/dns/transport.js';
import type { KubeObject } from '../client/kube-client.js';
import { fixedClusterIndex } from './cluster-index.js';
import { clusterResolver } from './resolver.js';

const svc = (ns: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { namespace: ns, name },
  spec,
});
const slice = (
  ns: string,
  service: string,
  ports: { name: string; port: number; protocol?: string }[],
  endpoints: { ip: string; ready?: boolean; hostname?: string }[],
): KubeObject => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { namespace: ns, name: `${service}-x`, labels: { 'kubernetes.io/service-name': service } },
  ports,
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    conditions: { ready: e.ready ?? true },
    ...(e.hostname ? { hostname: e.hostname } : {}),
  })),
});

const index = fixedClusterIndex(
  [
    svc('default', 'web', {
      clusterIP: '10.43.0.20',
      clusterIPs: ['10.43.0.20'],
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'dns', port: 53, protocol: 'UDP' },
      ],
    }),
    svc('default', 'db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] }),
    svc('default', 'ext', { type: 'ExternalName', externalName: 'example.org' }),
    svc('other', 'web', { clusterIP: '10.43.0.30', ports: [{ port: 8080 }] }),
  ],
  [
    slice(
      'default',
      'db',
      [{ name: 'pg', port: 5432, protocol: 'TCP' }],
      [{ ip: '10.42.0.5', hostname: 'db-0' }, { ip: '10.42.1.6' }, { ip: '10.42.1.7', ready: false }],
    ),
    slice('default', 'web', [{ name: 'http', port: 8080, protocol: 'TCP' }], [{ ip: '10.42.0.9' }]),
  ],
);
const resolver = clusterResolver({ index, nsAddress: '10.43.0.10' });
const ask = (name: string, type: dnsPacket.RecordType = 'A') => resolver.resolve({ name, type, class: 'IN' });
const dataOf = (a: dnsPacket.Answer) => (a as { data: unknown }).data;
const data = (name: string, type: dnsPacket.RecordType = 'A') =>
  (ask(name, type)?.answers ?? []).map((a) => (a as { data: unknown }).data);

describe('cluster DNS resolver', () => {
  test('a ClusterIP Service has A records of its cluster IP with a 5 s TTL', () => {
    const r = ask('web.default.svc.cluster.local');
    assert.equal(r?.rcode, Rcode.NOERROR);
    assert.deepEqual(r?.answers, [
      { type: 'A', name: 'web.default.svc.cluster.local', ttl: 5, data: '10.43.0.20' },
    ]);
    assert.deepEqual(data('WEB.Other.svc.cluster.local.'), ['10.43.0.30']);
  });

  test("a headless Service's name gives its ready endpoints only; endpoints by hostname or dashed address", () => {
    assert.deepEqual(data('db.default.svc.cluster.local').sort(), ['10.42.0.5', '10.42.1.6']);
    assert.deepEqual(data('db-0.db.default.svc.cluster.local'), ['10.42.0.5']);
    assert.deepEqual(data('10-42-1-6.db.default.svc.cluster.local'), ['10.42.1.6']);
    assert.equal(ask('10-42-1-7.db.default.svc.cluster.local')?.rcode, Rcode.NXDOMAIN);
    // Endpoint names exist only under headless Services.
    assert.equal(ask('10-42-0-9.web.default.svc.cluster.local')?.rcode, Rcode.NXDOMAIN);
  });

  test('SRV for named ports: the Service name for a ClusterIP, each endpoint for a headless one', () => {
    const r = ask('_http._tcp.web.default.svc.cluster.local', 'SRV');
    assert.deepEqual(r?.answers.map(dataOf), [
      { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
    ]);
    assert.deepEqual(
      r?.additionals?.map((a) => [a.name, dataOf(a)]),
      [['web.default.svc.cluster.local', '10.43.0.20']],
    );
    assert.deepEqual(
      data('_dns._udp.web.default.svc.cluster.local', 'SRV').map((d) => (d as { port: number }).port),
      [53],
    );
    assert.equal(ask('_dns._tcp.web.default.svc.cluster.local', 'SRV')?.rcode, Rcode.NXDOMAIN);
    const h = ask('_pg._tcp.db.default.svc.cluster.local', 'SRV');
    assert.deepEqual(h?.answers.map((a) => (dataOf(a) as { target: string }).target).sort(), [
      '10-42-1-6.db.default.svc.cluster.local',
      'db-0.db.default.svc.cluster.local',
    ]);
    assert.deepEqual(
      h?.answers.map((a) => (dataOf(a) as { weight: number }).weight),
      [50, 50],
    );
    assert.equal(h?.additionals?.length, 2);
    // The Service name holds SRV records for every port too.
    assert.equal(data('web.default.svc.cluster.local', 'SRV').length, 2);
  });

  test('an ExternalName Service is a CNAME whatever the type asked', () => {
    for (const type of ['A', 'AAAA', 'CNAME'] as const)
      assert.deepEqual(ask('ext.default.svc.cluster.local', type)?.answers, [
        { type: 'CNAME', name: 'ext.default.svc.cluster.local', ttl: 5, data: 'example.org' },
      ]);
  });

  test('PTR for Service IPs and endpoint (pod) addresses; other reverse names go upstream', () => {
    assert.deepEqual(data('20.0.43.10.in-addr.arpa', 'PTR'), ['web.default.svc.cluster.local']);
    assert.deepEqual(data('5.0.42.10.in-addr.arpa', 'PTR'), ['db-0.db.default.svc.cluster.local']);
    assert.deepEqual(data('6.1.42.10.in-addr.arpa', 'PTR'), ['10-42-1-6.db.default.svc.cluster.local']);
    assert.equal(ask('1.1.168.192.in-addr.arpa', 'PTR'), undefined);
  });

  test('pod A records from the dashed address', () => {
    assert.deepEqual(data('10-42-0-5.default.pod.cluster.local'), ['10.42.0.5']);
    assert.deepEqual(data('fd00--5.default.pod.cluster.local', 'AAAA'), ['fd00::5']);
    assert.equal(ask('not-an-ip.default.pod.cluster.local')?.rcode, Rcode.NXDOMAIN);
  });

  test('missing names in the zone are NXDOMAIN with the zone SOA; names without data are NOERROR', () => {
    const r = ask('nope.default.svc.cluster.local');
    assert.equal(r?.rcode, Rcode.NXDOMAIN);
    assert.equal(r?.authorities?.[0]?.type, 'SOA');
    assert.equal(r?.authorities?.[0]?.name, 'cluster.local');
    const soa = dataOf(r!.authorities![0]!) as { mname: string; rname: string; minimum: number };
    assert.deepEqual(
      [soa.mname, soa.rname, soa.minimum],
      ['ns.dns.cluster.local', 'hostmaster.cluster.local', 5],
    );
    assert.equal(ask('nope.cluster.local')?.rcode, Rcode.NXDOMAIN);
    assert.equal(ask('x.web.default.svc.cluster.local.other')?.rcode ?? 'upstream', 'upstream');
    // An IPv4-only Service has no AAAA: NOERROR, empty, with the SOA (not NXDOMAIN).
    const aaaa = ask('web.default.svc.cluster.local', 'AAAA');
    assert.deepEqual(
      [aaaa?.rcode, aaaa?.answers.length, aaaa?.authorities?.[0]?.type],
      [Rcode.NOERROR, 0, 'SOA'],
    );
    assert.equal(ask('default.svc.cluster.local')?.rcode, Rcode.NOERROR);
    assert.equal(ask('empty.svc.cluster.local')?.rcode, Rcode.NXDOMAIN);
    assert.equal(ask('cluster.local', 'SOA')?.answers[0]?.type, 'SOA');
    assert.deepEqual(data('ns.dns.cluster.local'), ['10.43.0.10']);
  });

  test('names outside the zone are left to the upstreams', () => {
    assert.equal(ask('example.org'), undefined);
    assert.equal(ask('cluster.local.example.org'), undefined);
  });

  test('search paths: a pod in default finds short, namespaced and full names as its resolver walks them', () => {
    // What a stub resolver does with `search default.svc.cluster.local svc.cluster.local
    // cluster.local` and ndots:5: names with fewer than 5 dots try each search domain first.
    const search = ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];
    const walk = (name: string): string | undefined => {
      const tries = name.split('.').length - 1 >= 5 ? [name] : [...search.map((d) => `${name}.${d}`), name];
      for (const t of tries) {
        const r = ask(t);
        if (r === undefined) return `upstream:${t}`;
        if (r.rcode === Rcode.NOERROR && r.answers.length) return (r.answers[0] as { data: string }).data;
      }
      return undefined;
    };
    assert.equal(walk('web'), '10.43.0.20');
    assert.equal(walk('web.other'), '10.43.0.30');
    assert.equal(walk('web.other.svc'), '10.43.0.30');
    assert.equal(walk('web.default.svc.cluster.local'), '10.43.0.20');
    // An outside name falls through every search domain (NXDOMAIN each) to the upstreams.
    assert.equal(walk('example.org'), 'upstream:example.org');
  });

  test('on the wire: an answer too big for UDP is truncated (TC) and whole over TCP', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ ip: `10.42.2.${i + 1}` }));
    const big = clusterResolver({
      index: fixedClusterIndex(
        [svc('default', 'many', { clusterIP: 'None' })],
        [slice('default', 'many', [], many)],
      ),
    });
    const q = dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'many.default.svc.cluster.local' }],
    });
    const udp = dnsPacket.decode(answerMessage(q, big, 'udp') as Buffer);
    assert.equal(udp.flags! & dnsPacket.TRUNCATED_RESPONSE, dnsPacket.TRUNCATED_RESPONSE);
    assert.equal(udp.answers?.length, 0);
    const tcp = dnsPacket.decode(answerMessage(q, big, 65_535) as Buffer);
    assert.equal(tcp.answers?.length, 60);
    assert.equal(tcp.id, 7);
    assert.equal(
      answerMessage(
        dnsPacket.encode({ type: 'query', id: 8, questions: [{ type: 'A', name: 'example.org' }] }),
        big,
        'udp',
      ),
      'forward',
    );
  });
});

test('with a generation, each name is worked out once per generation (A and AAAA read the index once)', () => {
  let reads = 0;
  let generation = 0;
  const counted = {
    services: {
      get: (key: string) => {
        reads++;
        return index.services.get(key);
      },
      byIndex: (name: string, value: string) => index.services.byIndex(name, value),
    },
    slices: index.slices,
  };
  const r = clusterResolver({ index: counted, generation: () => generation });
  const ask = (type: 'A' | 'AAAA', name = 'web.default.svc.cluster.local') =>
    r.resolve({ type, name, class: 'IN' });
  assert.deepEqual(
    ask('A')?.answers.map((a) => (a as { data: string }).data),
    ['10.43.0.20'],
  );
  assert.deepEqual(ask('AAAA')?.answers, []);
  assert.deepEqual(
    ask('A', 'WEB.default.svc.cluster.local')?.answers.map((a) => a.name),
    ['WEB.default.svc.cluster.local'],
  );
  assert.equal(reads, 1);
  generation++;
  ask('A');
  assert.equal(reads, 2);
});
