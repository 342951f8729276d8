import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageGc } from './image-gc.js';
import type { ContainerStatus, NodeImage } from './runtime.js';

const GB = 1024 ** 3;

function harness(images: NodeImage[], usedBy: string[], usedPercent: number) {
  let clock = 0;
  let available = (100 - usedPercent) * GB;
  const removed: string[] = [];
  const gc = new ImageGc({
    now: () => clock,
    disk: () => ({ total: 100 * GB, available }),
    runtime: {
      listImages: async () => images.filter((i) => !removed.includes(i.id!)),
      listContainers: async () => usedBy.map((imageId) => ({ imageId }) as ContainerStatus),
      async removeImage(id) {
        if (id === 'sha256:locked') throw new Error('used by a container outside the pods');
        removed.push(id);
        available += images.find((i) => i.id === id)?.sizeBytes ?? 0;
      },
    },
  });
  return { gc, removed, advance: (ms: number) => (clock += ms) };
}

const img = (id: string, gb: number): NodeImage => ({ id: `sha256:${id}`, names: [id], sizeBytes: gb * GB });

test('below the high threshold (85%) nothing is collected', async () => {
  const h = harness([img('a', 5)], [], 84);
  await h.gc.collect();
  h.advance(600_000);
  assert.deepEqual(await h.gc.collect(), { wanted: 0, freed: 0, removed: [] });
});

test('above it, unused images old enough go, least recently used first, down to the low threshold (80%)', async () => {
  const images = [img('fresh', 1), img('used', 9), img('old', 3), img('older', 3), img('locked', 2)];
  const h = harness(images, ['sha256:used'], 90);
  // First seen now: none is old enough yet (the 2-minute minimum age).
  assert.deepEqual((await h.gc.collect()).removed, []);
  h.advance(120_000);
  const r = await h.gc.collect();
  // 10 GB must go to reach 80%: locked refuses, used is in use; the rest all go (7 GB).
  assert.equal(r.wanted, 10 * GB);
  assert.deepEqual(r.removed.sort(), ['sha256:fresh', 'sha256:old', 'sha256:older']);
  assert.equal(r.freed, 7 * GB);
});

test('it stops as soon as enough is freed', async () => {
  const h = harness([img('a', 6), img('b', 6)], [], 86);
  await h.gc.collect();
  h.advance(120_000);
  const r = await h.gc.collect();
  assert.equal(r.removed.length, 1);
  assert.ok(r.freed >= r.wanted);
});

test('under disk pressure every unused image past the minimum age goes, whatever the disk use', async () => {
  const h = harness([img('a', 1), img('b', 1), img('used', 1)], ['sha256:used'], 10);
  assert.deepEqual((await h.gc.deleteUnused()).removed, [], 'none is old enough yet');
  h.advance(120_000);
  const r = await h.gc.deleteUnused();
  assert.deepEqual(r.removed.sort(), ['sha256:a', 'sha256:b']);
  assert.equal(r.freed, 2 * GB);
});
