// ServiceAccount tokens: audiences, expiry and not-before, the issuer, a forged signature,
// bound objects that must still exist with their uid, and the OIDC key set.
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { authenticator } from './auth.js';
import {
  jwks,
  newServiceAccountKey,
  openidConfiguration,
  signServiceAccountToken,
  verifyServiceAccountToken,
} from './service-account-token.js';

/** An RSA key as clusters made before ES256 keep (PKCS#1 PEM, as tls.ts wrote it). */
const rsaPair = () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    key: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
};
const sa = { namespace: 'n', name: 'bot', uid: 'u1' };
const api = ['https://kubernetes.default.svc'];
const header = (t: string) => JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString());

for (const [alg, pair] of [
  ['ES256', newServiceAccountKey],
  ['RS256', rsaPair],
] as const) {
  const { key, pub } = pair();
  describe(`ServiceAccount tokens (${alg})`, () => {
    test("the header names the key's algorithm and id; discovery names the algorithm", () => {
      const h = header(signServiceAccountToken(key, sa));
      assert.equal(h.alg, alg);
      assert.equal(h.kid, (jwks(pub) as { keys: { kid: string }[] }).keys[0]?.kid);
      assert.deepEqual(
        (openidConfiguration(key) as { id_token_signing_alg_values_supported: string[] })
          .id_token_signing_alg_values_supported,
        [alg],
      );
    });

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
      // Signed by a key of the other type, or naming another algorithm than the key's: refused.
      const other = alg === 'ES256' ? rsaPair().key : newServiceAccountKey().key;
      assert.equal(
        verifyServiceAccountToken(signServiceAccountToken(other, sa), pub, { audiences: api }),
        undefined,
      );
      const [, p, sig] = t.split('.') as [string, string, string];
      const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${p}.${sig}`;
      assert.equal(verifyServiceAccountToken(none, pub, { audiences: api, now }), undefined);
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
      const set = jwks(key) as { keys: { kid: string; kty: string }[] };
      assert.equal(set.keys[0]?.kty, alg === 'ES256' ? 'EC' : 'RSA');
      const t = signServiceAccountToken(key, sa);
      const [h, p, s] = t.split('.') as [string, string, string];
      assert.equal(JSON.parse(Buffer.from(h, 'base64url').toString()).kid, set.keys[0]?.kid);
      assert.ok(
        verify(
          'sha256',
          Buffer.from(`${h}.${p}`),
          { key: set.keys[0] as never, format: 'jwk', dsaEncoding: 'ieee-p1363' },
          Buffer.from(s, 'base64url'),
        ),
      );
    });
  });
}

test('a signing key that is neither RSA nor ECDSA P-256 is refused with its type', () => {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  assert.throws(() => signServiceAccountToken(pem, sa), /its type "ed25519" is neither RSA nor ECDSA P-256/);
});
