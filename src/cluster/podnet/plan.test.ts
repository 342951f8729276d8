import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { rulesetFor } from './nft.js';
import {
  Annotations,
  annotationsFor,
  type NodeNet,
  nodeNetOf,
  parseBackend,
  planRoutes,
  VXLAN_DEVICE,
  vtepMacFor,
} from './plan.js';

const a: NodeNet = { name: 'a', ip: '10.99.0.1', podCidr: '10.42.0.0/24', vtepMac: vtepMacFor('a') };
const b: NodeNet = { name: 'b', ip: '10.99.0.2', podCidr: '10.42.1.0/24', vtepMac: vtepMacFor('b') };
const c: NodeNet = { name: 'c', ip: '10.98.0.3', podCidr: '10.42.2.0/24' };
const onWire = (ip: string) => ip.startsWith('10.99.');

test('host-gw routes through the peer address; a peer off the shared subnet is reported, not routed', () => {
  const p = planRoutes({ name: 'a', backend: 'host-gw' }, [a, b, c], onWire);
  assert.deepEqual(p.routes, [{ dst: '10.42.1.0/24', via: '10.99.0.2' }]);
  assert.deepEqual(p.vxlanPeers, []);
  assert.deepEqual(
    p.unreachable.map((u) => u.node),
    ['c'],
  );
  assert.match(p.unreachable[0]!.reason, /10\.98\.0\.3 is not on a directly connected subnet/);
});

test('vxlan routes every peer through the VXLAN device to its VTEP address, with FDB and neighbour entries', () => {
  const p = planRoutes({ name: 'a', backend: 'vxlan' }, [a, b], onWire);
  assert.deepEqual(p.routes, [{ dst: '10.42.1.0/24', via: '10.42.1.0', dev: VXLAN_DEVICE, onlink: true }]);
  assert.deepEqual(p.vxlanPeers, [{ vtepIp: '10.42.1.0', mac: vtepMacFor('b'), nodeIp: '10.99.0.2' }]);
});

test('auto picks host-gw for peers on a shared subnet and vxlan for the rest', () => {
  const far = { ...c, vtepMac: vtepMacFor('c') };
  const p = planRoutes({ name: 'a', backend: 'auto' }, [a, b, far], onWire);
  assert.deepEqual(p.routes, [
    { dst: '10.42.1.0/24', via: '10.99.0.2' },
    { dst: '10.42.2.0/24', via: '10.42.2.0', dev: VXLAN_DEVICE, onlink: true },
  ]);
  // A far peer without a VTEP (host-gw) cannot be reached at all.
  const q = planRoutes({ name: 'a', backend: 'auto' }, [a, c], onWire);
  assert.deepEqual(q.routes, []);
  assert.match(q.unreachable[0]!.reason, /no VTEP MAC/);
});

test('a node is read from its spec, addresses and flannel annotations; what a node publishes reads back', () => {
  const node = (ann: Record<string, string>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'b', annotations: ann },
    spec: { podCIDR: '10.42.1.0/24' },
    status: { addresses: [{ type: 'InternalIP', address: '10.99.0.2' }] },
  });
  assert.deepEqual(
    nodeNetOf(node(annotationsFor({ ip: '10.99.0.2', backend: 'auto', vtepMac: b.vtepMac! }))),
    b,
  );
  assert.deepEqual(nodeNetOf(node(annotationsFor({ ip: '10.99.0.2', backend: 'host-gw' }))), {
    name: 'b',
    ip: '10.99.0.2',
    podCidr: '10.42.1.0/24',
  });
  assert.equal(nodeNetOf(node({ [Annotations.backendData]: '{not json' }))?.vtepMac, undefined);
  assert.equal(nodeNetOf({ ...node({}), spec: {} }), undefined);
});

test('the VTEP MAC is stable per node, unicast and locally administered', () => {
  assert.equal(vtepMacFor('a'), vtepMacFor('a'));
  assert.notEqual(vtepMacFor('a'), vtepMacFor('b'));
  const first = Number.parseInt(vtepMacFor('a').slice(0, 2), 16);
  assert.equal(first & 0x03, 0x02);
});

test('an unknown backend is refused with the value and the choices', () => {
  assert.throws(() => parseBackend('udp'), /Invalid --flannel-backend "udp": one of host-gw, vxlan, auto/);
});

test('the masquerade table spares traffic to every pod range and masquerades the rest from this node', () => {
  const r = rulesetFor('10.42.0.0/24', ['10.42.1.0/24', '10.42.0.0/24']);
  assert.match(r, /elements = \{ 10\.42\.0\.0\/24, 10\.42\.1\.0\/24 \}/);
  assert.match(
    r,
    /ip saddr 10\.42\.0\.0\/24 ip daddr @pod-cidrs return\n.*224\.0\.0\.0\/4 return\n\s+ip saddr 10\.42\.0\.0\/24 masquerade/,
  );
  // Replacing the table is one transaction that works whether it exists or not.
  assert.match(r, /^table inet berth-podnet \{\}\ndelete table inet berth-podnet\n/);
});
