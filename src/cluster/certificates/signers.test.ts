// The signers' rules (usages and subjects as upstream's) and a signed certificate's contents.
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import forge from 'node-forge';
import {
  kubeApiserverClient,
  kubeletClient,
  kubeletServing,
  makeRequest,
  parseRequest,
  signerRefusal,
  signRequest,
} from './signers.js';

const key = () =>
  generateKeyPairSync('rsa', { modulusLength: 2048 })
    .privateKey.export({ type: 'pkcs1', format: 'pem' })
    .toString();

function testCa(): { cert: string; key: string } {
  const k = forge.pki.rsa.generateKeyPair(2048);
  const c = forge.pki.createCertificate();
  c.publicKey = k.publicKey;
  c.serialNumber = '01';
  c.validity.notBefore = new Date(Date.now() - 60_000);
  c.validity.notAfter = new Date(Date.now() + 86_400_000);
  c.setSubject([{ name: 'commonName', value: 'test-ca' }]);
  c.setIssuer([{ name: 'commonName', value: 'test-ca' }]);
  c.setExtensions([{ name: 'basicConstraints', cA: true }]);
  c.sign(k.privateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(c), key: forge.pki.privateKeyToPem(k.privateKey) };
}

describe('signers', () => {
  const k = key();
  const node = parseRequest(makeRequest(k, 'system:node:n1', ['system:nodes']));
  const serving = parseRequest(
    makeRequest(k, 'system:node:n1', ['system:nodes'], { dns: ['n1'], ips: ['10.0.0.1'] }),
  );

  test('a request is read back with its subject and SANs', () => {
    assert.equal(serving.commonName, 'system:node:n1');
    assert.deepEqual(serving.organizations, ['system:nodes']);
    assert.deepEqual(serving.dns, ['n1']);
    assert.deepEqual(serving.ips, ['10.0.0.1']);
    assert.throws(() => parseRequest('not a request'), /not a PEM certificate request/);
  });

  test('usages must be allowed for the signer and include the one it requires', () => {
    assert.equal(signerRefusal(kubeApiserverClient, ['client auth'], node), undefined);
    assert.match(signerRefusal(kubeApiserverClient, ['server auth'], node) ?? '', /not allowed/);
    assert.match(
      signerRefusal(kubeApiserverClient, ['digital signature'], node) ?? '',
      /missing required usage "client auth"/,
    );
    assert.match(signerRefusal('example.com/x', ['client auth'], node) ?? '', /unknown signer/);
  });

  test('the kubelet signers sign only node subjects, client ones without SANs, serving ones with DNS or IP SANs', () => {
    const user = parseRequest(makeRequest(k, 'alice', ['devs']));
    assert.equal(signerRefusal(kubeletClient, ['digital signature', 'client auth'], node), undefined);
    assert.match(
      signerRefusal(kubeletClient, ['client auth'], user) ?? '',
      /organization is not system:nodes/,
    );
    assert.match(
      signerRefusal(kubeletClient, ['client auth'], serving) ?? '',
      /no subject alternative names/,
    );
    assert.equal(signerRefusal(kubeletServing, ['server auth'], serving), undefined);
    assert.match(
      signerRefusal(kubeletServing, ['server auth'], node) ?? '',
      /SANs are required|subject alternative names are required/,
    );
  });

  test('a signed certificate carries the subject, SANs and usages, issued by the CA', () => {
    const ca = testCa();
    const pem = signRequest(ca, serving, ['digital signature', 'server auth'], 3600);
    const cert = new X509Certificate(pem);
    assert.ok(cert.verify(new X509Certificate(ca.cert).publicKey));
    assert.match(cert.subject, /CN=system:node:n1/);
    assert.match(cert.subjectAltName ?? '', /DNS:n1/);
    assert.match(cert.subjectAltName ?? '', /IP Address:10\.0\.0\.1/);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.ok(Date.parse(cert.validTo) <= Date.now() + 3600_000);
  });
});
