// Which kubelet serving requests the csrapproving controller approves by itself: only those
// naming addresses their own Node reports and no other Node claims.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ParsedRequest } from '../certificates/signers.js';
import type { KubeObject } from '../client/kube-client.js';
import { type NodeLookup, namesOwnAddresses } from './csr-approving.js';

const node = (name: string, ...addresses: [string, string][]): KubeObject => ({
  metadata: { name },
  status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
});
const lookup = (...nodes: KubeObject[]): NodeLookup => ({
  get: (n) => nodes.find((x) => x.metadata.name === n),
  list: () => nodes,
});
const serving = (node: string, dns: string[], ips: string[]): ParsedRequest => ({
  commonName: `system:node:${node}`,
  organizations: ['system:nodes'],
  dns,
  ips,
  emails: [],
  uris: [],
  publicKey: '',
});

const n1 = node('n1', ['InternalIP', '192.0.2.10'], ['Hostname', 'n1']);
const n2 = node('n2', ['InternalIP', '192.0.2.20'], ['Hostname', 'n2']);

test("a request naming the node's own addresses is approved", () => {
  assert.equal(namesOwnAddresses(serving('n1', ['n1'], ['192.0.2.10']), lookup(n1, n2)), true);
  assert.equal(namesOwnAddresses(serving('n1', [], ['192.0.2.10']), lookup(n1, n2)), true);
});

test('a request naming an address the Node does not report, or another Node reports, waits', () => {
  assert.equal(namesOwnAddresses(serving('n1', ['n1'], ['192.0.2.20']), lookup(n1, n2)), false);
  assert.equal(namesOwnAddresses(serving('n1', ['localhost'], ['192.0.2.10']), lookup(n1, n2)), false);
  const thief = node('n1', ['InternalIP', '192.0.2.20'], ['Hostname', 'n1']);
  assert.equal(namesOwnAddresses(serving('n1', [], ['192.0.2.20']), lookup(thief, n2)), false);
  // Loopback is every node's own: simulated nodes all report 127.0.0.1.
  const local = node('n1', ['InternalIP', '127.0.0.1'], ['Hostname', 'n1']);
  const sim = node('sim-0', ['InternalIP', '127.0.0.1']);
  assert.equal(namesOwnAddresses(serving('n1', ['n1'], ['127.0.0.1']), lookup(local, sim)), true);
  // No Node yet (or no addresses): wait for it.
  assert.equal(namesOwnAddresses(serving('n3', ['n3'], []), lookup(n1, n2)), false);
});
