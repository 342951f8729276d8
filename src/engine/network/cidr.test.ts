import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contains, firstHost, formatCidr, overlaps, parseCidr, parseIPv4 } from './cidr.js';

test('CIDR parsing, overlap and containment', () => {
  const a = parseCidr('10.88.0.0/16');
  assert.equal(formatCidr(a), '10.88.0.0/16');
  assert.equal(firstHost(a), '10.88.0.1');
  assert.ok(overlaps(a, parseCidr('10.88.4.0/24')));
  assert.ok(!overlaps(a, parseCidr('10.89.0.0/24')));
  assert.ok(contains(a, parseIPv4('10.88.255.254')));
  assert.ok(!contains(a, parseIPv4('10.89.0.1')));
});

test('bad CIDRs name the value', () => {
  assert.throws(() => parseCidr('10.0.0.0'), /Invalid CIDR "10\.0\.0\.0"/);
  assert.throws(() => parseCidr('10.0.0.1/24'), /host bits are set \(did you mean 10\.0\.0\.0\/24\?\)/);
  assert.throws(() => parseCidr('300.0.0.0/8'), /Invalid IPv4 address "300\.0\.0\.0"/);
  assert.throws(() => parseCidr('10.0.0.0/31'), /between \/8 and \/30/);
});
