import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { memoryStore } from '../../store/memory.js';
import type { WatchEvent } from '../../store/store.js';
import { EncryptedStore, encryptionRules, resourceKeyPrefix } from './encrypted-store.js';
import { ensureGeneratedConfig, readEncryptionConfig } from './encryption-config.js';
import { SecretsEncryption } from './secrets-encryption.js';

const secretKey = (n: number) => `/registry/core/secrets/default/s${n}`;
const value = (n: number) => JSON.stringify({ kind: 'Secret', data: { v: `c2VjcmV0LSR7${n}` } });

async function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'berth-enc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = ensureGeneratedConfig(dir, 'aesgcm');
  const inner = memoryStore();
  const store = new EncryptedStore(inner, encryptionRules(readEncryptionConfig(path)));
  return { dir, path, inner, store, se: new SecretsEncryption(store, path, true) };
}

test('resource names map to key prefixes', () => {
  assert.equal(resourceKeyPrefix('secrets'), '/registry/core/secrets/');
  assert.equal(resourceKeyPrefix('deployments.apps'), '/registry/apps/deployments/');
  assert.equal(resourceKeyPrefix('*.apps'), '/registry/apps/');
  assert.equal(resourceKeyPrefix('*.*'), '/registry/');
});

test('Secrets are stored encrypted, read, listed, deleted and watched in plain; other keys pass through', async (t) => {
  const { path, inner, store } = await setup(t);
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const events: WatchEvent[][] = [];
  const w = store.watch('/registry/', 0, { onEvents: (e) => events.push(e), onError: assert.fail });
  await store.create(secretKey(1), value(1));
  await store.create('/registry/core/configmaps/default/c', '{"a":1}');
  const raw = await inner.get(secretKey(1));
  assert.ok(raw?.value.startsWith('k8s:enc:aesgcm:v1:'));
  assert.ok(!raw?.value.includes('c2VjcmV0'));
  assert.equal((await inner.get('/registry/core/configmaps/default/c'))?.value, '{"a":1}');
  assert.equal((await store.get(secretKey(1)))?.value, value(1));
  assert.deepEqual(
    (await store.list('/registry/core/secrets/')).items.map((kv) => kv.value),
    [value(1)],
  );
  const cur = await store.get(secretKey(1));
  await store.update(secretKey(1), value(2), cur?.modRevision ?? 0);
  assert.equal((await store.delete(secretKey(1))).value, value(2));
  w.close();
  const seen = events.flat().filter((e) => e.kv.key === secretKey(1));
  assert.deepEqual(
    seen.map((e) => [e.type, e.kv.value, e.prevKv?.value]),
    [
      ['put', value(1), undefined],
      ['put', value(2), value(1)],
      ['delete', value(2), value(2)],
    ],
  );
});

test('rotate puts every Secret under a new key, plain ones too, and drops the old key last', async (t) => {
  const { path, inner, store, se } = await setup(t);
  await inner.create(secretKey(0), value(0)); // written before encryption was on
  for (let i = 1; i <= 5; i++) await store.create(secretKey(i), value(i));
  const before = await se.status();
  assert.equal(before.enabled, true);
  assert.deepEqual(before.secrets, { [before.activeKey as string]: 5, identity: 1 });
  const report = await se.rotate();
  assert.equal(report.rewritten, 6);
  assert.notEqual(report.activeKey, before.activeKey);
  assert.deepEqual(report.secrets, { [report.activeKey as string]: 6 });
  assert.deepEqual(report.keys, [report.activeKey, 'identity']);
  assert.ok(!readFileSync(path, 'utf8').includes((before.activeKey as string).split(':')[1] as string));
  for (let i = 0; i <= 5; i++) assert.equal((await store.get(secretKey(i)))?.value, value(i));
});

test('rotate is refused for a configuration berth does not own, and when encryption is off', async (t) => {
  const { path, store } = await setup(t);
  await assert.rejects(new SecretsEncryption(store, path, false).rotate(), /--encryption-provider-config/);
  await assert.rejects(
    new SecretsEncryption(undefined, undefined, false).rotate(),
    /Secrets encryption is off/,
  );
  assert.deepEqual(await new SecretsEncryption(undefined, undefined, false).status(), {
    enabled: false,
    keys: [],
    secrets: {},
  });
});
