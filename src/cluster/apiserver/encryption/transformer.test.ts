import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { test } from 'node:test';
import { newKey, type ProviderConfig, parseEncryptionConfig } from './encryption-config.js';
import { transformerFor } from './transformer.js';

const key = { name: 'k1', secret: Buffer.alloc(32, 7).toString('base64') };
const key2 = { name: 'k2', secret: Buffer.alloc(16, 9).toString('base64') };
const plain = '{"kind":"Secret","data":{"password":"aHVudGVyMg=="}}';
const at = '/registry/core/secrets/default/s';

for (const cipher of ['aesgcm', 'aescbc'] as const) {
  test(`${cipher}: values carry Kubernetes' prefix, read back, and hold no plain text`, () => {
    const t = transformerFor([{ [cipher]: { keys: [key, key2] } } as ProviderConfig, { identity: {} }]);
    const stored = t.toStorage(plain, at);
    assert.ok(stored.startsWith(`k8s:enc:${cipher}:v1:k1:`));
    assert.ok(!stored.includes('aHVudGVyMg'));
    assert.notEqual(t.toStorage(plain, at), stored, 'a fresh nonce or IV for every write');
    assert.equal(t.fromStorage(stored, at), plain);
    assert.equal(t.keyOf(stored), `${cipher}:k1`);
    assert.equal(t.activeKey, `${cipher}:k1`);
  });
}

test('every listed key reads; identity reads plain values only when listed', () => {
  const old = transformerFor([{ aescbc: { keys: [key2] } }]);
  const stored = old.toStorage(plain, at);
  const both = transformerFor([{ aesgcm: { keys: [key] } }, { aescbc: { keys: [key2] } }, { identity: {} }]);
  assert.equal(both.fromStorage(stored, at), plain);
  assert.equal(both.fromStorage(plain, at), plain);
  assert.equal(both.keyOf(plain), 'identity');
  assert.throws(() => old.fromStorage(plain, at), /identity is not a listed provider/);
  const other = transformerFor([{ aesgcm: { keys: [key] } }]);
  assert.throws(
    () => other.fromStorage(stored, at),
    /stored with key aescbc:k2, which the encryption configuration does not list/,
  );
  assert.equal(transformerFor([{ identity: {} }, { aesgcm: { keys: [key] } }]).toStorage(plain, at), plain);
});

test('AES-GCM binds a value to its storage key and refuses a changed byte', () => {
  const t = transformerFor([{ aesgcm: { keys: [key] } }]);
  const stored = t.toStorage(plain, at);
  assert.throws(
    () => t.fromStorage(stored, '/registry/core/secrets/default/other'),
    /Cannot decrypt .* with key aesgcm:k1/,
  );
  const flipped = stored.slice(0, -1) + String.fromCharCode(stored.charCodeAt(stored.length - 1) ^ 1);
  assert.throws(() => t.fromStorage(flipped, at), /Cannot decrypt/);
});

test('reads a value sealed as kube-apiserver seals it (nonce, ciphertext, tag; key path as AAD)', () => {
  const nonce = Buffer.alloc(12, 3);
  const c = createCipheriv('aes-256-gcm', Buffer.from(key.secret, 'base64'), nonce);
  c.setAAD(Buffer.from(at));
  const body = Buffer.concat([nonce, c.update(plain), c.final(), c.getAuthTag()]);
  const stored = `k8s:enc:aesgcm:v1:k1:${body.toString('latin1')}`;
  assert.equal(transformerFor([{ aesgcm: { keys: [key] } }]).fromStorage(stored, at), plain);
});

test('configuration errors name the field and the value', () => {
  const doc = (providers: unknown) =>
    JSON.stringify({
      kind: 'EncryptionConfiguration',
      apiVersion: 'apiserver.config.k8s.io/v1',
      resources: [{ resources: ['secrets'], providers }],
    });
  assert.throws(
    () => parseEncryptionConfig(doc([{ aesgcm: { keys: [{ name: 'a', secret: 'c2hvcnQ=' }] } }]), 'f.yaml'),
    /f\.yaml: resources\[0\]\.providers\[0\]\.aesgcm\.keys\[0\] \("a"\) secret is 5 bytes/,
  );
  assert.throws(() => parseEncryptionConfig(doc([{ kms: {} }]), 'f.yaml'), /provider "kms" is not supported/);
  assert.throws(() => parseEncryptionConfig('kind: Foo', 'f.yaml'), /kind is "Foo"/);
  const k = newKey('aescbc');
  assert.equal(Buffer.from(k.secret, 'base64').length, 32);
  assert.ok(parseEncryptionConfig(doc([{ aescbc: { keys: [k] } }, { identity: {} }]), 'f'));
});
