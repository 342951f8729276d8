import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { ingressFor } from './servicelb.js';

const node = (name: string, ip: string, ready: boolean, deleting = false): KubeObject => ({
  metadata: { name, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  status: {
    addresses: [
      { type: 'InternalIP', address: ip },
      { type: 'Hostname', address: name },
    ],
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }],
  },
});

test('ServiceLB ingress: Ready nodes in address order, none being deleted', () => {
  assert.deepEqual(
    ingressFor([
      node('b', '192.168.1.10', true),
      node('a', '192.168.1.9', true),
      node('c', '192.168.1.11', false),
      node('d', '192.168.1.12', true, true),
    ]),
    [{ ip: '192.168.1.9' }, { ip: '192.168.1.10' }],
  );
});

test('ServiceLB ingress: with no node Ready, every live node rather than none', () => {
  assert.deepEqual(ingressFor([node('a', '192.168.1.9', false)]), [{ ip: '192.168.1.9' }]);
  assert.deepEqual(ingressFor([]), []);
});
