// The API server's check of a node agent's serving certificate: it must name the address
// dialled and be issued to that node, so one node's certificate does not serve for another.
import assert from 'node:assert/strict';
import { Agent } from 'node:https';
import { test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { kubeletAddress, kubeletRequest, servingIdentityError } from './kubelet-client.js';

const cert = (cn: string, san: string) => ({ subject: { CN: cn }, subjectaltname: san }) as PeerCertificate;

test("the node's own certificate for the dialled address passes", () => {
  assert.equal(
    servingIdentityError('n1', '192.0.2.10', cert('system:node:n1', 'DNS:n1, IP Address:192.0.2.10')),
    undefined,
  );
});

test('a certificate for another address, or for another node at this address, is refused', () => {
  assert.match(
    String(servingIdentityError('n1', '192.0.2.10', cert('system:node:n1', 'DNS:n1, IP Address:192.0.2.11'))),
    /IP: 192\.0\.2\.10 is not in the cert's list: 192\.0\.2\.11/,
  );
  assert.equal(
    servingIdentityError('n1', '192.0.2.10', cert('system:node:n2', 'IP Address:192.0.2.10'))?.message,
    'the serving certificate at 192.0.2.10 is issued to "system:node:n2", not to node n1 ("system:node:n1")',
  );
});

test("a node's endpoint is its InternalIP and kubelet port", () => {
  assert.deepEqual(
    kubeletAddress({
      metadata: { name: 'n1' },
      status: {
        addresses: [
          { type: 'Hostname', address: 'n1' },
          { type: 'InternalIP', address: '192.0.2.10' },
        ],
        daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      },
    }),
    { host: '192.0.2.10', port: 10250 },
  );
  assert.equal(kubeletAddress({ metadata: { name: 'n1' }, status: {} }), undefined);
});

test("requests carry the node's name as SNI, so kept-alive connections are never shared between nodes", () => {
  const node = (name: string) => ({ metadata: { name }, status: {} });
  const at = { host: '127.0.0.1', port: 10250 };
  const agent = new Agent();
  assert.equal(kubeletRequest(node('n1'), at, agent, '/x').servername, 'n1');
  assert.notEqual(
    agent.getName(kubeletRequest(node('n1'), at, agent, '/x')),
    agent.getName(kubeletRequest(node('impostor'), at, agent, '/x')),
  );
  // An IP cannot be SNI.
  assert.equal(kubeletRequest(node('192.0.2.1'), at, agent, '/x').servername, undefined);
  agent.destroy();
});
