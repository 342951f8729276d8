import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { servedByBerth } from './ingress-class.js';
import { disabledComponents, ingressSettings } from './settings.js';
import { ingressAddresses } from './status.js';

test('--disable takes repeats and comma lists, and refuses unknown components by name', () => {
  assert.deepEqual([...disabledComponents(['ingress', ' ingress,'])], ['ingress']);
  assert.throws(
    () => disabledComponents(['traefik']),
    /Invalid --disable "traefik": the components that can be disabled are ingress/,
  );
});

test('the ingress ports, or none when disabled; a bad port is refused', () => {
  const flags = { disable: [], ingressHttpPort: '8080', ingressHttpsPort: '0' };
  assert.deepEqual(ingressSettings({ ...flags, ingressHelpers: '3' }), {
    httpPort: 8080,
    httpsPort: 0,
    helpers: 3,
  });
  assert.equal(ingressSettings({ ...flags, disable: ['ingress'] }), undefined);
  assert.throws(
    () => ingressSettings({ ...flags, ingressHttpPort: '80x' }),
    /Invalid --ingress-http-port "80x"/,
  );
  assert.throws(
    () => ingressSettings({ ...flags, ingressHttpsPort: '70000' }),
    /Invalid --ingress-https-port "70000"/,
  );
});

test('--ingress-helpers: a count, 0 for none, or auto (one per CPU, at most 4)', () => {
  const flags = { disable: [], ingressHttpPort: '80', ingressHttpsPort: '443' };
  const auto = Math.min(availableParallelism(), 4);
  assert.equal(ingressSettings(flags)?.helpers, auto);
  assert.equal(ingressSettings({ ...flags, ingressHelpers: 'auto' })?.helpers, auto);
  assert.equal(ingressSettings({ ...flags, ingressHelpers: '0' })?.helpers, 0);
  for (const bad of ['-1', 'two', '65'])
    assert.throws(
      () => ingressSettings({ ...flags, ingressHelpers: bad }),
      new RegExp(`Invalid --ingress-helpers "${bad}": must be a number of processes from 0 to 64, or auto`),
    );
});

const ing = (className?: string, legacy?: string): KubeObject => ({
  metadata: {
    name: 'i',
    namespace: 'default',
    ...(legacy ? { annotations: { 'kubernetes.io/ingress.class': legacy } } : {}),
  },
  spec: className ? { ingressClassName: className } : {},
});

test('Ingresses of class berth, of a class naming the controller, or of none are served', () => {
  const classes: KubeObject[] = [
    { metadata: { name: 'mine' }, spec: { controller: 'berth.dev/ingress' } },
    { metadata: { name: 'nginx' }, spec: { controller: 'k8s.io/ingress-nginx' } },
  ];
  assert.equal(servedByBerth(ing(), classes), true);
  assert.equal(servedByBerth(ing('berth'), classes), true);
  assert.equal(servedByBerth(ing('mine'), classes), true);
  assert.equal(servedByBerth(ing('nginx'), classes), false);
  assert.equal(servedByBerth(ing(undefined, 'nginx'), classes), false);
  assert.equal(servedByBerth(ing('unknown'), classes), false);
});

test('status addresses: the nodes that serve Ingresses, Ready ones in address order', () => {
  const node = (name: string, ip: string, serving: boolean, ready = true): KubeObject => ({
    metadata: { name, ...(serving ? { annotations: { 'ingress.berth.dev/serving': 'true' } } : {}) },
    status: {
      addresses: [{ type: 'InternalIP', address: ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
    },
  });
  assert.deepEqual(
    ingressAddresses([
      node('b', '10.0.0.9', true),
      node('a', '10.0.0.10', true),
      node('c', '10.0.0.2', false),
      node('d', '10.0.0.3', true, false),
    ]),
    [{ ip: '10.0.0.9' }, { ip: '10.0.0.10' }],
  );
  assert.deepEqual(ingressAddresses([node('c', '10.0.0.2', false)]), []);
});
