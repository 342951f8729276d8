// The API server's credentials and handshake: the serving certificate covers the names pods
// reach the API by (and an older one without them is reissued by the same CA), and TLS 1.2
// offers forward-secret AEAD suites only. The handshakes use the openssl client, as a user
// would probe the server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import forge from 'node-forge';
import { ensureCredentials, serverTlsOptions } from './tls.js';

const sans = (pem: string) => {
  const alt = forge.pki.certificateFromPem(pem).getExtension('subjectAltName') as {
    altNames: { ip?: string; value?: string }[];
  };
  return new Set(alt.altNames.map((a) => a.ip ?? a.value));
};

/** What `openssl s_client` makes of a TLS 1.2 handshake offering only `cipher`: the cipher agreed, or undefined. */
function handshake(port: number, cipher: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'openssl',
      ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-cipher', cipher, '-brief'],
      { timeout: 20_000 },
      (err, _stdout, stderr) => {
        const agreed = /Ciphersuite: (\S+)/.exec(stderr)?.[1];
        if (agreed) resolve(agreed);
        else if (err && /handshake failure|no cipher|alert/i.test(stderr)) resolve(undefined);
        else reject(new Error(`openssl s_client gave neither a cipher nor a handshake failure: ${stderr}`));
      },
    );
    child.stdin?.end();
  });
}

describe('API server TLS', () => {
  let dir: string;
  let server: Server;
  let port: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-tls-'));
    const creds = ensureCredentials(dir, '127.0.0.1');
    server = createServer({ ...serverTlsOptions, key: creds.serverKey, cert: creds.serverCert }, (_q, s) =>
      s.end('ok'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the serving certificate covers the kubernetes Service address and names', () => {
    const have = sans(readFileSync(join(dir, 'server.crt'), 'utf8'));
    for (const n of [
      '10.43.0.1',
      '127.0.0.1',
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ])
      assert.ok(have.has(n), `SAN ${n} missing: ${[...have].join(', ')}`);
  });

  test('a serving certificate lacking those names is reissued on start, by the same CA', () => {
    const other = mkdtempSync(join(tmpdir(), 'berth-tls-'));
    try {
      const first = ensureCredentials(other, '127.0.0.1');
      // An earlier version's certificate: signed by the cluster CA, without the Service names.
      const key = forge.pki.privateKeyFromPem(first.serverKey) as forge.pki.rsa.PrivateKey;
      const cert = forge.pki.createCertificate();
      cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
      cert.serialNumber = '01';
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 86_400_000);
      cert.setSubject([{ name: 'commonName', value: 'berth-apiserver' }]);
      cert.setIssuer(forge.pki.certificateFromPem(first.caCert).subject.attributes);
      cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }]);
      cert.sign(forge.pki.privateKeyFromPem(first.caKey), forge.md.sha256.create());
      writeFileSync(join(other, 'server.crt'), forge.pki.certificateToPem(cert));

      const again = ensureCredentials(other, '127.0.0.1');
      assert.equal(again.caCert, first.caCert);
      assert.ok(sans(again.serverCert).has('kubernetes.default.svc.cluster.local'));
      assert.ok(sans(again.serverCert).has('10.43.0.1'));
      assert.ok(
        forge.pki.certificateFromPem(first.caCert).verify(forge.pki.certificateFromPem(again.serverCert)),
      );
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  test('TLS 1.2 agrees ECDHE with AES-GCM or ChaCha20-Poly1305', async () => {
    assert.equal(await handshake(port, 'ECDHE-RSA-AES128-GCM-SHA256'), 'ECDHE-RSA-AES128-GCM-SHA256');
    assert.equal(await handshake(port, 'ECDHE-RSA-CHACHA20-POLY1305'), 'ECDHE-RSA-CHACHA20-POLY1305');
  });

  test('TLS 1.2 refuses static-RSA, CBC, SHA-1, CCM8 and ARIA suites', async () => {
    for (const cipher of [
      'AES128-SHA',
      'AES256-GCM-SHA384',
      'ECDHE-RSA-AES128-SHA',
      'ECDHE-RSA-AES256-SHA384',
      'DHE-RSA-AES128-GCM-SHA256',
      'AES128-CCM8',
      'ECDHE-ARIA128-GCM-SHA256',
    ])
      assert.equal(await handshake(port, cipher), undefined, `${cipher} was agreed`);
  });
});
