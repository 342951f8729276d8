import assert from 'node:assert/strict';
import { test } from 'node:test';
import tls from 'node:tls';
import type { KubeObject } from '../client/kube-client.js';
import { CertStore, selfSignedCertificate, tlsOptions } from './certs.js';

const pem = selfSignedCertificate('site.test');
const fallback = tls.createSecureContext({ ...tlsOptions, ...selfSignedCertificate('default.test') });

const secret = (
  name: string,
  version: string,
  data: Record<string, string> | undefined = pem,
): KubeObject => ({
  metadata: { name, namespace: 'web', uid: name, resourceVersion: version },
  type: 'kubernetes.io/tls',
  data: Object.fromEntries(
    Object.entries(
      data === pem ? { 'tls.crt': pem.cert, 'tls.key': pem.key } : (data as Record<string, string>),
    ).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
});

const ingress = (tlsEntries: unknown[], hosts: string[] = []): KubeObject => ({
  metadata: { name: 'i', namespace: 'web', uid: 'i', creationTimestamp: '2026-01-01T00:00:00Z' },
  spec: { tls: tlsEntries, rules: hosts.map((host) => ({ host })) },
});

test('names bind to their Secret: exact, wildcard, a TLS entry without hosts covers the rule hosts', () => {
  const store = new CertStore(fallback);
  const secrets = new Map([
    ['web/a', secret('a', '1')],
    ['web/w', secret('w', '1')],
    ['web/r', secret('r', '1')],
  ]);
  const problems = store.update(
    [
      ingress(
        [
          { hosts: ['a.test'], secretName: 'a' },
          { hosts: ['*.wild.test'], secretName: 'w' },
          { secretName: 'r' },
        ],
        ['rule.test'],
      ),
    ],
    (k) => secrets.get(k),
  );
  assert.deepEqual(problems, []);
  for (const name of ['a.test', 'A.TEST', 'x.wild.test', 'rule.test'])
    assert.notEqual(store.contextFor(name), fallback, name);
  for (const name of ['wild.test', 'x.y.wild.test', 'other.test', undefined])
    assert.equal(store.contextFor(name), fallback, String(name));
});

test('a changed Secret gets a new context; an unchanged one keeps its own', () => {
  const store = new CertStore(fallback);
  const ing = [ingress([{ hosts: ['a.test'], secretName: 'a' }])];
  store.update(ing, () => secret('a', '1'));
  const first = store.contextFor('a.test');
  store.update(ing, () => secret('a', '1'));
  assert.equal(store.contextFor('a.test'), first);
  store.update(ing, () => secret('a', '2'));
  assert.notEqual(store.contextFor('a.test'), first);
});

test('a missing or broken Secret is a problem and its hosts get the default certificate', () => {
  const store = new CertStore(fallback);
  const problems = store.update(
    [
      ingress([
        { hosts: ['gone.test'], secretName: 'gone' },
        { hosts: ['bad.test'], secretName: 'bad' },
      ]),
    ],
    (k) =>
      k === 'web/bad'
        ? secret('bad', '1', { 'tls.crt': 'not a certificate', 'tls.key': 'nor a key' })
        : undefined,
  );
  assert.deepEqual(
    problems.map((p) => p.reason),
    ['SecretNotUsable', 'SecretNotUsable'],
  );
  assert.match(
    problems[0]?.message ?? '',
    /^Secret web\/gone not found; its hosts get the default certificate$/,
  );
  assert.match(problems[1]?.message ?? '', /^Secret web\/bad holds no usable certificate and key/);
  assert.equal(store.contextFor('gone.test'), fallback);
  assert.equal(store.contextFor('bad.test'), fallback);
});
