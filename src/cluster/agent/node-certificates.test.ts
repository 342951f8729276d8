// The node's key pairs on disk: one file holding certificate and key, read back whole; the
// layout from before rotation (client.crt with node.key) still read; a Node's addresses as SANs;
// a client certificate renewed through the join token once it has expired.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { ensureCredentials } from '../apiserver/tls.js';
import { makeRequest, parseRequest, signRequest } from '../certificates/signers.js';
import type { KubeClient, KubeObject } from '../client/kube-client.js';
import { type KeyPair, newKey } from './cert-rotation.js';
import { addressSans, readPair, rotateClientCertificate, validNow, writePair } from './node-certificates.js';

const dir = tempDir('berth-node-certs-');

const block = (label: string, body: string) => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;

test('a pair is written as one 0600 file and read back; nothing else is left beside it', () => {
  const pair = { cert: block('CERTIFICATE', 'Y2VydA=='), key: block('RSA PRIVATE KEY', 'a2V5') };
  writePair(dir, 'serving', pair);
  assert.deepEqual(readPair(dir, 'serving'), pair);
  assert.equal(statSync(join(dir, 'serving.pem')).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir), ['serving.pem']);
  assert.equal(readPair(dir, 'client'), undefined);
});

test('a data dir from before rotation (client.crt and node.key) is read', () => {
  const old = mkdtempSync(join(dir, 'old-'));
  writeFileSync(join(old, 'client.crt'), block('CERTIFICATE', 'b2xk'));
  writeFileSync(join(old, 'node.key'), block('RSA PRIVATE KEY', 'a2V5'));
  assert.deepEqual(readPair(old, 'client'), {
    cert: block('CERTIFICATE', 'b2xk'),
    key: block('RSA PRIVATE KEY', 'a2V5'),
  });
});

test("a Node's addresses become DNS and IP SANs, each once", () => {
  assert.deepEqual(
    addressSans([
      { type: 'InternalIP', address: '192.0.2.10' },
      { type: 'Hostname', address: 'n1' },
      { type: 'ExternalIP', address: '192.0.2.10' },
      { type: 'InternalDNS', address: 'n1.example.com' },
    ]),
    { dns: ['n1', 'n1.example.com'], ips: ['192.0.2.10'] },
  );
});

/** A client whose CSRs are signed at once (valid for `seconds`), recording who asked. */
function signingClient(
  ca: { cert: string; key: string },
  name: string,
  asked: string[],
  seconds = 1000,
): KubeClient {
  return {
    create: async (_r: unknown, _ns: unknown, csr: KubeObject) => {
      asked.push(name);
      const pem = Buffer.from(String(csr.spec.request), 'base64').toString();
      const cert = signRequest(ca, parseRequest(pem), ['client auth'], seconds);
      return {
        ...csr,
        metadata: { ...csr.metadata, resourceVersion: '1' },
        status: { certificate: Buffer.from(cert).toString('base64') },
      };
    },
    useClientCertificate: () => {},
    close: () => {},
  } as unknown as KubeClient;
}

test('an expired client certificate is renewed through the join token', async () => {
  const creds = ensureCredentials(join(dir, 'tls'), '127.0.0.1');
  const ca = { cert: creds.caCert, key: creds.caKey };
  const key = newKey();
  // Valid for a minute, an hour ago.
  const expired = signRequest(
    ca,
    parseRequest(makeRequest(key, 'system:node:n1', ['system:nodes'])),
    ['client auth'],
    60,
    Date.now() - 3_600_000,
  );
  assert.equal(validNow(expired), false);
  const asked: string[] = [];
  const nodeDir = mkdtempSync(join(dir, 'node-'));
  const renewed = await new Promise<KeyPair>((resolve) => {
    // The rotation's timers do not hold the process open (unref): this keeps it running meanwhile.
    const alive = setInterval(() => {}, 60_000);
    const r = rotateClientCertificate({
      client: {
        ...signingClient(ca, 'node', asked),
        useClientCertificate: (cert: string, k: string) => {
          clearInterval(alive);
          r.stop();
          resolve({ cert, key: k });
        },
      } as unknown as KubeClient,
      dir: nodeDir,
      nodeName: 'n1',
      current: { cert: expired, key },
      bootstrap: () => signingClient(ca, 'bootstrap', asked),
    });
  });
  assert.deepEqual(asked, ['bootstrap']);
  assert.deepEqual(readPair(nodeDir, 'client'), renewed);
});
