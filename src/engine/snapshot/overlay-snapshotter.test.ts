import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { OverlaySnapshotter, OWNER_PID } from './overlay-snapshotter.js';
import { snapshotterSuite } from './snapshotter-conformance.js';

const isRoot = process.getuid?.() === 0;

function fresh(): { snapshotter: OverlaySnapshotter; close(): Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'berth-overlay-snap-'));
  return {
    snapshotter: new OverlaySnapshotter(join(dir, 'snapshots')),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * `top`, committed with no parent recorded, takes `base` as its parent, keeps it when asked for
 * another, and a container prepared on it mounts both layers.
 */
async function recordsParentOnce(s: OverlaySnapshotter, base: string, top: string): Promise<void> {
  await s.setParent(top, base);
  await s.setParent(top, `sha256:${'c'.repeat(64)}`);
  assert.equal((await s.stat(top)).parent, base);
  await s.prepare('ctr', top);
  const [m] = await s.mounts('ctr');
  assert.ok(m?.options.includes(`lowerdir=${s.layerDir(top)}:${s.layerDir(base)}`));
}

/** The pid of a process that has exited. */
function deadPid(): number {
  return spawnSync('true').pid!;
}

if (isRoot) snapshotterSuite('overlay', { open: async () => fresh() });

describe('overlay snapshotter: what a crash leaves', { skip: !isRoot && 'needs root' }, () => {
  test('cleanup removes half-made folders and unpack snapshots of processes that are gone, and keeps the rest', async () => {
    const { snapshotter: s, close } = fresh();
    try {
      await s.prepare('mine', '', { labels: { [OWNER_PID]: String(process.pid) } });
      await s.prepare('orphan', '', { labels: { [OWNER_PID]: String(deadPid()) } });
      await s.prepare('container', '');
      mkdirSync(join(s.dir, `tmp-${deadPid()}-abc`, 'fs'), { recursive: true });
      mkdirSync(join(s.dir, `tmp-${process.pid}-live`));
      await s.cleanup();
      const names = (await s.list()).map((i) => i.name).sort();
      assert.deepEqual(names, ['container', 'mine']);
      assert.equal(existsSync(join(s.dir, `tmp-${process.pid}-live`)), true);
    } finally {
      await close();
    }
  });

  test('a commit cut off after its rename reads as committed; one cut off before leaves the key active', async () => {
    const { snapshotter: s, close } = fresh();
    try {
      // After the rename, before the record's rename: the pending record is the one.
      await s.prepare('k1', '');
      const folder = s.folderOf('k1', 'active');
      writeFileSync(
        join(folder, 'commit.json'),
        JSON.stringify({
          kind: 'committed',
          name: 'n1',
          parent: '',
          labels: {},
          created: new Date().toISOString(),
        }),
      );
      renameSync(folder, s.folderOf('n1', 'committed'));
      assert.equal((await s.stat('n1')).kind, 'committed');
      await s.prepare('child', 'n1');
      // Before the rename: the key is still active and can be committed again.
      await s.prepare('k2', '');
      writeFileSync(join(s.folderOf('k2', 'active'), 'commit.json'), '{"kind":"committed","name":"n2"}');
      rmSync(join(s.folderOf('k2', 'active'), 'work'), { recursive: true });
      assert.equal((await s.stat('k2')).kind, 'active');
      await s.mounts('k2');
      await s.commit('n2', 'k2');
      assert.equal((await s.stat('n2')).kind, 'committed');
    } finally {
      await close();
    }
  });

  test('a layer committed without a parent (a pull unpacks layers in parallel) gets it recorded once', async () => {
    const { snapshotter: s, close } = fresh();
    try {
      const base = `sha256:${'a'.repeat(64)}`;
      const top = `sha256:${'b'.repeat(64)}`;
      for (const id of [base, top]) {
        await s.prepare(`unpack-${id}`, '');
        await s.commit(id, `unpack-${id}`);
      }
      await recordsParentOnce(s, base, top);
    } finally {
      await close();
    }
  });

  test('a chain-ID folder from before the snapshotter is a committed snapshot whose parent can be recorded once', async () => {
    const { snapshotter: s, close } = fresh();
    try {
      const base = `sha256:${'a'.repeat(64)}`;
      const top = `sha256:${'b'.repeat(64)}`;
      for (const id of [base, top]) mkdirSync(s.layerDir(id), { recursive: true });
      assert.deepEqual(await s.stat(top), {
        ...(await s.stat(top)),
        kind: 'committed',
        name: top,
        parent: '',
      });
      await recordsParentOnce(s, base, top);
    } finally {
      await close();
    }
  });
});
