import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEngineDb } from '../state/db.js';
import { imageStoreOn } from './image-store.js';
import { removeImage } from './remove.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;

// The reference is dockerd's image_delete.go: untagging a repository's last tag also
// untags that repository's digest references, and reports each ("Untagged: REPO@sha256:...").
describe('rmi of a name while the image keeps others', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rmi-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const store = imageStoreOn(dir, openEngineDb(dir));
  const id = digest('1');
  store.index.put(
    { id, manifestDigest: digest('2'), size: 1, created: '2026-11-30T00:00:00Z' },
    ['docker.io/library/a:1', 'docker.io/library/a:2', 'reg.example/b:1'],
    [`docker.io/library/a@${digest('3')}`, `reg.example/b@${digest('3')}`],
  );
  const digests = () => store.index.get(id)?.digests;

  it("keeps the repository's digest while one of its tags is left", async () => {
    assert.deepEqual(await removeImage(store, 'a:1'), [{ Untagged: 'a:1' }]);
    assert.equal(digests()?.length, 2);
  });

  it("drops the repository's digest with its last tag, and only that repository's", async () => {
    assert.deepEqual(await removeImage(store, 'a:2'), [
      { Untagged: 'a:2' },
      { Untagged: `a@${digest('3')}` },
    ]);
    assert.deepEqual(digests(), [`reg.example/b@${digest('3')}`]);
    assert.deepEqual(store.index.get(id)?.names, ['reg.example/b:1']);
  });
});
