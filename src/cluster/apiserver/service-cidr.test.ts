import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterDnsAddress, defaultServiceCidr, parseServiceCidr } from './service-cidr.js';

test('the default range: kubernetes at .1, the cluster DNS at .10, offsets both ways', () => {
  const c = defaultServiceCidr;
  assert.equal(c.cidr, '10.43.0.0/16');
  assert.equal(c.size, 65_536);
  assert.equal(c.kubernetesIP, '10.43.0.1');
  assert.equal(clusterDnsAddress(c), '10.43.0.10');
  assert.equal(c.nth(258), '10.43.1.2');
  assert.equal(c.offsetOf('10.43.1.2'), 258);
  assert.equal(c.offsetOf('10.44.0.1'), undefined);
  assert.equal(c.offsetOf('10.43.0.256'), undefined);
  assert.equal(c.offsetOf('fd00::1'), undefined);
});

test('other ranges, high addresses included (no sign trouble above 128.0.0.0)', () => {
  const c = parseServiceCidr('192.168.128.0/20');
  assert.equal(c.kubernetesIP, '192.168.128.1');
  assert.equal(clusterDnsAddress(c), '192.168.128.10');
  assert.equal(c.nth(c.size - 1), '192.168.143.255');
  assert.equal(c.offsetOf('192.168.143.255'), 4095);
  assert.equal(parseServiceCidr('10.96.0.0/12').kubernetesIP, '10.96.0.1');
  assert.equal(parseServiceCidr('172.16.0.16/28').nth(10), '172.16.0.26');
});

test('a bad --service-cidr is an error naming the value and what is wrong', () => {
  const cases: [string, RegExp][] = [
    ['10.43.0.0', /an IPv4 range in CIDR notation is needed/],
    ['10.43.0.0/33', /an IPv4 range in CIDR notation is needed/],
    ['10.43.0/16', /an IPv4 range in CIDR notation is needed/],
    ['10.43.0.300/16', /an IPv4 range in CIDR notation is needed/],
    ['nonsense', /an IPv4 range in CIDR notation is needed/],
    ['fd00:43::/112', /IPv6 Service addresses are not supported/],
    ['10.0.0.0/8', /too large: the prefix must be \/12 or longer/],
    ['10.43.0.0/29', /too small: the prefix must be \/28 or shorter/],
    ['10.43.0.1/16', /bits set beyond the prefix \(the range would be 10\.43\.0\.0\/16\)/],
  ];
  for (const [text, why] of cases)
    assert.throws(
      () => parseServiceCidr(text),
      (e: Error) => e.message.startsWith(`Invalid --service-cidr "${text}": `) && why.test(e.message),
      text,
    );
});

test('--cluster-dns must be a usable address of the range other than the kubernetes Service', () => {
  const c = defaultServiceCidr;
  assert.equal(clusterDnsAddress(c, '10.43.2.53'), '10.43.2.53');
  assert.throws(
    () => clusterDnsAddress(c, '10.44.0.10'),
    /Invalid --cluster-dns "10\.44\.0\.10": an IPv4 address in --service-cidr 10\.43\.0\.0\/16/,
  );
  assert.throws(() => clusterDnsAddress(c, 'dns'), /Invalid --cluster-dns "dns"/);
  assert.throws(() => clusterDnsAddress(c, '10.43.0.1'), /kubernetes Service's address/);
  assert.throws(() => clusterDnsAddress(c, '10.43.255.255'), /not a usable address/);
});
