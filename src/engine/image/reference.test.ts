import assert from 'node:assert/strict';
import { test } from 'node:test';
import { familiarName, normalizeReference, parseReference } from './reference.js';

test('Docker normalisation', () => {
  assert.equal(normalizeReference('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalizeReference('user/app:1.0'), 'docker.io/user/app:1.0');
  assert.equal(normalizeReference('index.docker.io/library/nginx'), 'docker.io/library/nginx:latest');
  assert.equal(normalizeReference('127.0.0.1:5000/a/b:t'), '127.0.0.1:5000/a/b:t');
  assert.equal(normalizeReference('localhost/x'), 'localhost/x:latest');
  const d = `sha256:${'a'.repeat(64)}`;
  assert.deepEqual(parseReference(`quay.io/x/y@${d}`), {
    domain: 'quay.io',
    path: 'x/y',
    tag: undefined,
    digest: d,
  });
  assert.equal(normalizeReference(`x:1@${d}`), `docker.io/library/x:1@${d}`);
});

test('familiar names', () => {
  assert.equal(familiarName('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.equal(familiarName('docker.io/user/app:1'), 'user/app:1');
  assert.equal(familiarName('127.0.0.1:5000/a:1'), '127.0.0.1:5000/a:1');
});

test('bad references name the problem and the value', () => {
  assert.throws(
    () => parseReference('Busybox'),
    /Invalid reference format "Busybox": repository name must be lowercase/,
  );
  assert.throws(() => parseReference('a:b:c'), /Invalid reference format/);
  assert.throws(() => parseReference(''), /empty/);
  assert.throws(() => parseReference('x@sha256:123'), /not a valid/);
  assert.throws(() => parseReference('x:'), /not a valid tag/);
  assert.throws(() => parseReference('a//b'), /Invalid reference format/);
});
