import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { staleUdpFlows } from './proxier.js';
import type { ServicePort } from './service-ports.js';

const port = (endpoints: string[], extra: Partial<ServicePort> = {}): ServicePort => ({
  id: 'default/dns/53',
  protocol: 'udp',
  clusterIP: '10.43.0.53',
  port: 53,
  externalIPs: [],
  externalLocal: false,
  internalLocal: false,
  endpoints: endpoints.map((ip) => ({ ip, port: 5353, local: true })),
  ...extra,
});

describe('stale UDP flows', () => {
  test('an endpoint that goes: its flows to the Service address and node port', () => {
    assert.deepEqual(
      staleUdpFlows(
        [port(['10.42.0.2', '10.42.0.3'], { nodePort: 30053 })],
        [port(['10.42.0.3'], { nodePort: 30053 })],
      ),
      [
        ['-p', 'udp', '--orig-dst', '10.43.0.53', '--orig-port-dst', '53', '--dst-nat', '10.42.0.2'],
        ['-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.42.0.2'],
      ],
    );
  });

  test('a Service that gets its first endpoint: every flow to it', () => {
    assert.deepEqual(staleUdpFlows([port([])], [port(['10.42.0.2'])]), [
      ['-p', 'udp', '--orig-dst', '10.43.0.53', '--orig-port-dst', '53'],
    ]);
  });

  test('a Service that goes: flows to its endpoints', () => {
    assert.deepEqual(staleUdpFlows([port(['10.42.0.2'])], []), [
      ['-p', 'udp', '--orig-dst', '10.43.0.53', '--dst-nat', '10.42.0.2'],
    ]);
  });

  test('TCP Services and unchanged endpoints flush nothing', () => {
    assert.deepEqual(staleUdpFlows([port(['10.42.0.2'])], [port(['10.42.0.2'])]), []);
    const tcp = { protocol: 'tcp' as const };
    assert.deepEqual(staleUdpFlows([port(['10.42.0.2'], tcp)], [port([], tcp)]), []);
  });
});
