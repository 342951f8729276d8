// ServiceAccount tokens: audiences, expiry and not-before, the issuer, a forged signature,
// bound objects that must still exist with their uid, and the OIDC key set.
import assert from 'node:assert/strict';
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { authenticator } from './auth.js';
import { jwks, signServiceAccountToken, verifyServiceAccountToken } from './service-account-token.js';

const pair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    key: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const { key, pub } = pair();
const sa = { namespace: 'n', name: 'bot', uid: 'u1' };
const api = ['https://kubernetes.default.svc'];

describe('ServiceAccount tokens', () => {
  test('audiences: the API accepts its own; a token for another audience is refused', () => {
    assert.ok(verifyServiceAccountToken(signServiceAccountToken(key, sa), pub, { audiences: api }));
    const vault = signServiceAccountToken(key, { ...sa, audiences: ['vault'] });
    assert.equal(verifyServiceAccountToken(vault, pub, { audiences: api }), undefined);
    assert.deepEqual(verifyServiceAccountToken(vault, pub, { audiences: ['vault', 'x'] })?.audiences, [
      'vault',
    ]);
  });

  test('expiry, not-before, issuer and signature are checked', () => {
    const now = 1_800_000_000;
    const t = signServiceAccountToken(key, { ...sa, ttlSeconds: 600, now });
    assert.ok(verifyServiceAccountToken(t, pub, { audiences: api, now: now + 599 }));
    assert.equal(verifyServiceAccountToken(t, pub, { audiences: api, now: now + 600 + 61 }), undefined);
    assert.equal(verifyServiceAccountToken(t, pub, { audiences: api, now: now - 120 }), undefined);
    assert.equal(
      verifyServiceAccountToken(t, pub, { audiences: api, issuer: 'https://other', now }),
      undefined,
    );
    const forged = signServiceAccountToken(pair().key, sa);
    assert.equal(verifyServiceAccountToken(forged, pub, { audiences: api }), undefined);
    assert.equal(verifyServiceAccountToken('not.a.jwt', pub, { audiences: api }), undefined);
  });

  test('the ServiceAccount and the bound pod must still exist with the uids the token names', async () => {
    const live = new Map([
      ['ServiceAccount/n/bot', 'u1'],
      ['Pod/n/web', 'p1'],
    ]);
    const authn = authenticator({
      adminToken: 'admin',
      nodeToken: 'node',
      saPub: pub,
      uidOf: async (kind, ns, name) => live.get(`${kind}/${ns}/${name}`),
    });
    const bound = signServiceAccountToken(key, { ...sa, bound: { kind: 'Pod', name: 'web', uid: 'p1' } });
    const who = await authn.byToken(bound);
    assert.equal(who?.user.name, 'system:serviceaccount:n:bot');
    assert.deepEqual(who?.user.extra?.['authentication.kubernetes.io/pod-name'], ['web']);
    live.set('Pod/n/web', 'p2');
    assert.equal(await authn.byToken(bound), undefined, 'pod recreated');
    const plain = signServiceAccountToken(key, sa);
    assert.ok(await authn.byToken(plain));
    live.delete('ServiceAccount/n/bot');
    assert.equal(await authn.byToken(plain), undefined, 'account deleted');
    assert.equal(
      (await authn.byToken('admin', ['vault'])) ?? 'none',
      'none',
      'static tokens are the API’s alone',
    );
  });

  test('the published key set verifies the tokens', () => {
    const set = jwks(key) as { keys: { kid: string; n: string; e: string; kty: string }[] };
    const t = signServiceAccountToken(key, sa);
    const [h, p, s] = t.split('.') as [string, string, string];
    assert.equal(JSON.parse(Buffer.from(h, 'base64url').toString()).kid, set.keys[0]?.kid);
    const v = createVerify('RSA-SHA256');
    v.update(`${h}.${p}`);
    assert.ok(v.verify({ key: set.keys[0] as never, format: 'jwk' }, Buffer.from(s, 'base64url')));
  });
});
