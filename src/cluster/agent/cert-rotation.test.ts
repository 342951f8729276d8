// Renewal as the kubelet's certificate manager does it: the deadline falls in 70-90% of the
// certificate's life; with no certificate, or past the deadline, a new key is made and a
// certificate asked for at once; a failed request is tried again; the new pair is handed over.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { ensureCredentials } from '../apiserver/tls.js';
import { makeRequest, parseRequest, signRequest } from '../certificates/signers.js';
import { CertificateRotation, type KeyPair, newKey, rotationDeadline } from './cert-rotation.js';

const dir = tempDir('berth-rotation-');
const creds = ensureCredentials(dir, '127.0.0.1');
const ca = { cert: creds.caCert, key: creds.caKey };

/** A node client certificate for `key`, valid for `seconds`. */
const certFor = (key: string, seconds: number) =>
  signRequest(
    ca,
    parseRequest(makeRequest(key, 'system:node:n1', ['system:nodes'])),
    ['client auth'],
    seconds,
  );

test('the deadline is 70% to 90% into the certificate life', () => {
  const pem = certFor(newKey(), 1000);
  const c = new X509Certificate(pem);
  const from = Date.parse(c.validFrom);
  const life = Date.parse(c.validTo) - from;
  assert.equal(
    rotationDeadline(pem, () => 0),
    from + life * 0.7,
  );
  assert.equal(
    rotationDeadline(pem, () => 1),
    from + life * 0.9,
  );
  assert.equal(
    rotationDeadline(pem, () => 0.5),
    from + life * 0.8,
  );
});

test('without a certificate one is asked for at once, for a new key, and handed over', async () => {
  let asked = 0;
  const pair = await new Promise<KeyPair>((resolve) => {
    const r = new CertificateRotation({
      name: 'client',
      renew: async (key) => {
        asked++;
        return certFor(key, 1000);
      },
      rotated: (p) => {
        r.stop();
        resolve(p);
      },
    }).start();
  });
  assert.equal(asked, 1);
  // The certificate is for the key handed over with it.
  const pub = new X509Certificate(pair.cert).publicKey.export({ type: 'spki', format: 'pem' });
  const { createPublicKey } = await import('node:crypto');
  assert.equal(createPublicKey(pair.key).export({ type: 'spki', format: 'pem' }), pub);
});

test('past its deadline a certificate is renewed; a failed request is tried again', async () => {
  const old = { key: newKey(), cert: '' };
  old.cert = certFor(old.key, 1000);
  const errors: string[] = [];
  let r: CertificateRotation | undefined;
  // The rotation's timers do not hold the process open (unref): this keeps it running meanwhile.
  const alive = setInterval(() => {}, 60_000);
  const pair = await new Promise<KeyPair>((resolve) => {
    r = new CertificateRotation({
      name: 'client',
      current: old,
      // Seen from 1,000 s on, the certificate is past any deadline.
      now: () => Date.now() + 1_000_000,
      renew: async (key) => {
        if (!errors.length) {
          errors.push('first');
          throw new Error('the API is away');
        }
        return certFor(key, 1000);
      },
      rotated: (p) => {
        r?.stop();
        resolve(p);
      },
    });
    assert.equal(r.current, old);
    r.start();
  });
  clearInterval(alive);
  assert.deepEqual(errors, ['first']);
  assert.notEqual(pair.key, old.key);
  assert.equal(r?.current, pair);
});
