import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DNS_INTERFACE } from '../dns/node-dns.js';
import { addedDevice } from './machine.js';

test("devices Berth or the pod network add are never taken for the node's address", () => {
  for (const name of ['br-0123456789ab', 'berth0', 'berth', 'cni0', 'docker0', 'flannel.1', DNS_INTERFACE])
    assert.ok(addedDevice(name), name);
  for (const name of ['eth0', 'ens3', 'wire0', 'enp0s31f6', 'bond0', 'lo'])
    assert.ok(!addedDevice(name), name);
});
