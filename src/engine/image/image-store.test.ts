import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEngineDb } from '../state/db.js';
import type { ImageRow } from './image-index.js';
import { imageStoreOn, readImageConfig } from './image-store.js';

describe('readImageConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-image-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const store = imageStoreOn(dir, openEngineDb(dir));
  const row = (id: string): ImageRow => ({
    id,
    manifestDigest: id,
    size: 0,
    created: '',
    names: [],
    digests: [],
  });

  it('gives each caller its own object, read again or not', async () => {
    const config = { config: { Env: ['A=1'] }, rootfs: { type: 'layers', diff_ids: [] } };
    const { digest } = await store.content.write(Buffer.from(JSON.stringify(config)));
    const first = await readImageConfig(store, row(digest));
    first.config?.Env?.push('B=2');
    assert.deepEqual(await readImageConfig(store, row(digest)), config);
  });

  it('still refuses a config without rootfs.diff_ids', async () => {
    const { digest } = await store.content.write(Buffer.from('{"config":{}}'));
    await assert.rejects(readImageConfig(store, row(digest)), /has no rootfs.diff_ids/);
    await assert.rejects(readImageConfig(store, row(digest)), /has no rootfs.diff_ids/);
  });

  it('names a blob that is not JSON', async () => {
    const { digest } = await store.content.write(Buffer.from('not json'));
    await assert.rejects(
      readImageConfig(store, row(digest)),
      new RegExp(`image config blob ${digest} is not valid JSON`),
    );
  });
});
