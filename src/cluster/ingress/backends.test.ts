import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../client/kube-client.js';
import { resolvePool } from './backends.js';

const service: KubeObject = {
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    ports: [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ],
  },
};

const slice = (endpoints: { ip: string; ready?: boolean }[], port = 8080, name = 'http'): KubeObject => ({
  metadata: { name: `web-${port}`, namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  ports: [{ name, port, protocol: 'TCP' }],
  endpoints: endpoints.map((e) => ({
    addresses: [e.ip],
    ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }),
  })),
});

const ref = (port: { name: string } | { number: number }) => ({ namespace: 'default', service: 'web', port });

test('a Service port resolves to the ready endpoints of its slices at their target port', () => {
  const pool = resolvePool(ref({ number: 80 }), service, [
    slice([{ ip: '10.42.0.5' }, { ip: '10.42.0.6', ready: false }]),
    slice([{ ip: '10.42.0.7', ready: true }]),
    slice([{ ip: '10.42.0.9' }], 9090, 'other'),
  ]);
  assert.deepEqual(pool.endpoints, [
    { host: '10.42.0.5', port: 8080 },
    { host: '10.42.0.7', port: 8080 },
  ]);
  // Round robin.
  assert.deepEqual(
    [pool.next(), pool.next(), pool.next()].map((e) => e?.host),
    ['10.42.0.5', '10.42.0.7', '10.42.0.5'],
  );
});

test('by port name; a missing Service, port, or a UDP port says why', () => {
  assert.equal(
    resolvePool(ref({ name: 'http' }), service, [slice([{ ip: '10.42.0.5' }])]).endpoints.length,
    1,
  );
  assert.equal(resolvePool(ref({ number: 80 }), undefined, []).missing, 'Service default/web not found');
  assert.equal(
    resolvePool(ref({ name: 'grpc' }), service, []).missing,
    'Service default/web has no port named grpc',
  );
  assert.match(resolvePool(ref({ name: 'dns' }), service, []).missing ?? '', /is not TCP/);
  // No ready pod is not a problem of the Ingress: just no endpoint (503).
  const none = resolvePool(ref({ number: 80 }), service, [slice([{ ip: '10.42.0.5', ready: false }])]);
  assert.equal(none.missing, undefined);
  assert.equal(none.next(), undefined);
});
