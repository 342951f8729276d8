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

describe('rmi of an image whose layer another image may share', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-rmi-shared-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const store = imageStoreOn(dir, openEngineDb(dir));
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  /** Writes an image of one layer blob and records it under `name`; returns the layer's digest. */
  async function image(name: string, layer: string, manifestBytes?: Buffer): Promise<string> {
    const l = await store.content.write(Buffer.from(layer));
    const config = await store.content.write(
      json({ rootfs: { type: 'layers', diff_ids: [l.digest] }, config: { Labels: { name } }, history: [] }),
    );
    const manifest = await store.content.write(
      manifestBytes ??
        json({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: 1 },
          layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: 1 }],
        }),
    );
    store.index.put(
      { id: config.digest, manifestDigest: manifest.digest, size: 1, created: '2026-11-30T00:00:00Z' },
      [`docker.io/library/${name}`],
      [],
    );
    return l.digest;
  }

  it('deletes a layer no other image references', async () => {
    const own = await image('solo:1', 'solo layer');
    await image('other:1', 'other layer');
    await removeImage(store, 'solo:1');
    assert.equal(store.content.has(own), false);
  });

  it("keeps the layers when another image's manifest cannot be read", async () => {
    const shared = await image('keep:1', 'shared layer');
    // The other image runs on the same layer, but its manifest blob is not JSON: what it
    // references is unknown, so nothing of keep:1's may go.
    await image('broken:1', 'shared layer', Buffer.from('not json'));
    const before = store.index.list().length;
    await removeImage(store, 'keep:1');
    assert.equal(store.index.list().length, before - 1, 'keep:1 itself is gone');
    assert.equal(store.content.has(shared), true);
  });
});
