import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { openContentStore, sha256Digest } from './content-store.js';

const root = tempDir('berth-cs-');

async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p);
}

test('ingest verifies and stores', async () => {
  const cs = openContentStore(root);
  const digest = sha256Digest('hello world');
  const info = await cs.ingest(chunks('hello ', 'world'), { digest, size: 11 });
  assert.deepEqual(info, { digest, size: 11 });
  assert.equal((await cs.read(digest)).toString(), 'hello world');
  assert.ok(cs.list().includes(digest));
});

test('a digest mismatch stores nothing', async () => {
  const cs = openContentStore(root);
  const wrong = sha256Digest('something else');
  await assert.rejects(cs.ingest(chunks('evil'), { digest: wrong }), /Digest mismatch/);
  assert.ok(!cs.has(wrong));
  assert.ok(!cs.has(sha256Digest('evil')));
  assert.deepEqual(readdirSync(join(root, 'blobs', 'tmp')), []);
});

test('bad digests are refused', async () => {
  const cs = openContentStore(root);
  assert.throws(() => cs.has('md5:abc'), /Invalid digest/);
  await assert.rejects(cs.read(sha256Digest('absent')), /not in the content store/);
});
