/**
 * The one conformance suite every {@link Snapshotter} implementation passes, after
 * containerd's core/snapshots/testsuite. It mounts what the snapshotter returns (real mounts:
 * run as root) and checks what a container would see.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { errorCode } from '../../core/errors.js';
import { mountAll, unmount } from './mount.js';
import type { Snapshotter } from './snapshotter.js';

export interface SnapshotterFactory {
  /** A fresh, empty snapshotter and how to drop it. */
  open(): Promise<{ snapshotter: Snapshotter; close(): Promise<void> }>;
}

/** Runs `fn` on a snapshotter with a scratch mount point; unmounts and drops both after. */
async function withSnapshotter(
  factory: SnapshotterFactory,
  fn: (s: Snapshotter, mount: (key: string) => Promise<string>) => Promise<void>,
): Promise<void> {
  const { snapshotter, close } = await factory.open();
  const dir = mkdtempSync(join(tmpdir(), 'berth-snap-mnt-'));
  const targets: string[] = [];
  const mount = async (key: string) => {
    const target = join(dir, String(targets.length));
    mkdirSync(target);
    targets.push(target);
    await mountAll(await snapshotter.mounts(key), target);
    return target;
  };
  try {
    await fn(snapshotter, mount);
  } finally {
    for (const t of targets.reverse()) await unmount(t);
    rmSync(dir, { recursive: true, force: true });
    await close();
  }
}

/** Prepares `key` on `parent`, writes `files` (null deletes), unmounts, commits as `name`. */
async function layer(
  s: Snapshotter,
  mount: (key: string) => Promise<string>,
  name: string,
  parent: string,
  files: Record<string, string | null>,
): Promise<void> {
  const key = `${name}-active`;
  await s.prepare(key, parent);
  const root = await mount(key);
  for (const [path, content] of Object.entries(files)) {
    if (content === null) unlinkSync(join(root, path));
    else writeFileSync(join(root, path), content);
  }
  await unmount(root);
  await s.commit(name, key);
}

const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: unknown) => errorCode(e),
  );

export function snapshotterSuite(name: string, factory: SnapshotterFactory): void {
  describe(`snapshotter conformance: ${name}`, () => {
    test('a prepared snapshot is writable and becomes committed, and its key goes away', () =>
      withSnapshotter(factory, async (s, mount) => {
        await layer(s, mount, 'base', '', { a: 'A' });
        const info = await s.stat('base');
        assert.equal(info.kind, 'committed');
        assert.equal(info.parent, '');
        assert.equal(await code(s.stat('base-active')), 'NotFound');
        assert.deepEqual(
          (await s.list()).map((i) => i.name),
          ['base'],
        );
        assert.ok((await s.usage('base')).inodes >= 2);
      }));

    test('layers stack: a child sees its parent, and a deletion hides the parent file', () =>
      withSnapshotter(factory, async (s, mount) => {
        await layer(s, mount, 'l1', '', { a: 'A', b: 'B' });
        await layer(s, mount, 'l2', 'l1', { a: null, c: 'C' });
        assert.equal((await s.stat('l2')).parent, 'l1');
        await s.view('v', 'l2');
        assert.equal((await s.stat('v')).kind, 'view');
        const root = await mount('v');
        assert.equal(existsSync(join(root, 'a')), false);
        assert.equal(readFileSync(join(root, 'b'), 'utf8'), 'B');
        assert.equal(readFileSync(join(root, 'c'), 'utf8'), 'C');
        assert.throws(() => writeFileSync(join(root, 'd'), 'D'), /EROFS/);
        await s.prepare('work', 'l2');
        const rw = await mount('work');
        writeFileSync(join(rw, 'd'), 'D');
        assert.equal(readFileSync(join(rw, 'b'), 'utf8'), 'B');
      }));

    test('a view of one layer is read-only too', () =>
      withSnapshotter(factory, async (s, mount) => {
        await layer(s, mount, 'only', '', { a: 'A' });
        await s.view('v1', 'only');
        const root = await mount('v1');
        assert.equal(readFileSync(join(root, 'a'), 'utf8'), 'A');
        assert.throws(() => writeFileSync(join(root, 'x'), 'x'), /EROFS/);
      }));

    test('misuse is refused with the right error codes', () =>
      withSnapshotter(factory, async (s, mount) => {
        await layer(s, mount, 'p', '', { a: 'A' });
        await s.prepare('k', 'p');
        assert.equal(await code(s.prepare('k', 'p')), 'AlreadyExists');
        assert.equal(await code(s.prepare('p', '')), 'AlreadyExists');
        assert.equal(await code(s.prepare('k2', 'missing')), 'NotFound');
        assert.equal(await code(s.prepare('k3', 'k')), 'FailedPrecondition');
        assert.equal(await code(s.commit('p', 'k')), 'AlreadyExists');
        assert.equal(await code(s.mounts('p')), 'NotFound');
        assert.equal(await code(s.remove('p')), 'FailedPrecondition');
        await s.view('v', 'p');
        assert.equal(await code(s.commit('c', 'v')), 'FailedPrecondition');
        assert.equal(await code(s.commit('c', 'nope')), 'NotFound');
        assert.equal(await code(s.remove('nope')), 'NotFound');
        assert.equal(await code(s.stat('nope')), 'NotFound');
      }));

    test('remove: an active snapshot, then the parent nothing stacks on any more', () =>
      withSnapshotter(factory, async (s, mount) => {
        await layer(s, mount, 'p', '', { a: 'A' });
        await s.prepare('k', 'p');
        await s.remove('k');
        await s.remove('p');
        assert.deepEqual(await s.list(), []);
      }));

    test('commit may name the parent when the layer was applied on its own', () =>
      withSnapshotter(factory, async (s, mount) => {
        await layer(s, mount, 'p', '', { a: 'A' });
        await s.prepare('k', '');
        const root = await mount('k');
        writeFileSync(join(root, 'b'), 'B');
        await unmount(root);
        await s.commit('c', 'k', { parent: 'p' });
        assert.equal((await s.stat('c')).parent, 'p');
        await s.view('v', 'c');
        const view = await mount('v');
        assert.equal(readFileSync(join(view, 'a'), 'utf8'), 'A');
        assert.equal(readFileSync(join(view, 'b'), 'utf8'), 'B');
      }));
  });
}
