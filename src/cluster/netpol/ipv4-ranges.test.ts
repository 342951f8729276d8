import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cidrRange, mergeRanges, rangeElement, subtractRanges } from './ipv4-ranges.js';

test('a CIDR less its excepts, as nft interval elements', () => {
  const block = cidrRange('10.0.0.0/8')!;
  const holes = ['10.42.0.0/16', '10.0.0.0/24', '10.42.3.0/24'].map((c) => cidrRange(c)!);
  assert.deepEqual(subtractRanges(block, holes).map(rangeElement), [
    '10.0.1.0-10.41.255.255',
    '10.43.0.0-10.255.255.255',
  ]);
  assert.deepEqual(subtractRanges(cidrRange('192.168.1.7/32')!, []).map(rangeElement), ['192.168.1.7']);
});

test('host bits are ignored, as upstream parses ipBlocks; bad CIDRs are undefined', () => {
  assert.deepEqual(cidrRange('10.1.2.3/16')!.map(Number), cidrRange('10.1.0.0/16')!.map(Number));
  assert.equal(cidrRange('0.0.0.0/0')![1], 2 ** 32 - 1);
  for (const bad of ['10.0.0.0/33', '10.0.0.0', '10.0.0.256/8', 'fd00::/8', '10.0.0.0/8/1'])
    assert.equal(cidrRange(bad), undefined, bad);
});

test('overlapping and adjacent ranges merge', () => {
  assert.deepEqual(
    mergeRanges([
      [5, 5],
      [1, 3],
      [4, 4],
      [10, 20],
      [12, 30],
    ]),
    [
      [1, 5],
      [10, 30],
    ],
  );
});
