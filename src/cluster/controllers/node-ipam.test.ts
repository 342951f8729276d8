import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextPodCidr, parseClusterCidr } from './node-ipam.js';

test('pod CIDRs are the free /24s of the cluster CIDR, lowest first', () => {
  assert.equal(nextPodCidr('10.42.0.0/16', new Set()), '10.42.0.0/24');
  assert.equal(nextPodCidr('10.42.0.0/16', new Set(['10.42.0.0/24', '10.42.2.0/24'])), '10.42.1.0/24');
  assert.equal(
    nextPodCidr('10.42.7.9/23', new Set(['10.42.6.0/24'])),
    '10.42.7.0/24',
    'host bits are ignored',
  );
  assert.equal(nextPodCidr('10.42.5.0/24', new Set(['10.42.5.0/24'])), undefined, 'used up');
});

test('a cluster CIDR that cannot hold /24s, or is no CIDR, is refused naming the value', () => {
  for (const bad of ['10.42.0.0/25', '10.42.0.0', '300.1.1.1/16', 'fd00::/64'])
    assert.throws(
      () => parseClusterCidr(bad),
      new RegExp(`Invalid --cluster-cidr "${bad.replace(/[.*/]/g, '\\$&')}"`),
    );
});
