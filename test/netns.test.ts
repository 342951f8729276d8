// Pinned namespaces under RUNROOT/netns (src/engine/network/netns.ts): one call pins a pod's
// network, IPC and UTS namespaces; pins made and removed at once by separate processes all
// hold, on one private tmpfs, which goes with the last pin; a folder bind-mounted onto itself
// (as earlier versions made it) is kept and used. Only new namespaces are made: nothing on
// the host's network changes. In a long-lived process the command helper makes the pins itself,
// with no program started, and says which step failed on which path.
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statfsSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { commandHelper, run, runCommandsThroughHelper, stopCommandHelper } from '../src/core/exec.js';
import {
  createNamespaces,
  netnsDir,
  type PinnedNamespaces,
  removeNamespaces,
  removePrivatePins,
} from '../src/engine/network/netns.js';
import { isRoot, repoRoot, type Sandbox, sandbox } from './helpers/sandbox.js';

const NSFS_MAGIC = 0x6e736673;

/** The mounts at `dir` and beneath it: [mount point, file system type, propagation]. */
function mountsUnder(dir: string): { point: string; type: string; shared: boolean }[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(' ');
      const sep = f.indexOf('-');
      return {
        point: f[4]!,
        type: f[sep + 1]!,
        shared: f.slice(6, sep).some((o) => o.startsWith('shared:')),
      };
    })
    .filter((m) => m.point === dir || m.point.startsWith(`${dir}/`));
}

/** Asserts that every file of `ns` is a pinned namespace, and adds their inodes to `inodes`. */
function assertPinned(ns: PinnedNamespaces, inodes: Set<number>): void {
  for (const p of Object.values(ns)) {
    assert.equal(statfsSync(p).type, NSFS_MAGIC, `${p} is a pinned namespace`);
    inodes.add(statSync(p).ino);
  }
}

/** Removes the pins of `all` at once, then the pin namespace: no file and no mount is left. */
async function removeAll(runroot: string, all: PinnedNamespaces[]): Promise<void> {
  await Promise.all(all.map((ns) => removeNamespaces(Object.values(ns) as string[])));
  for (const ns of all) for (const p of Object.values(ns)) assert.equal(existsSync(p), false);
  await removePrivatePins(runroot);
  assert.deepEqual(mountsUnder(netnsDir(runroot)), []);
}

describe('pinned namespaces', { skip: !isRoot }, () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox(undefined);
  });
  after(() => box.cleanup());

  test("a pod's three namespaces: loopback up, new IPC and UTS namespaces, all on a private tmpfs that the last pin takes down", async () => {
    const dir = netnsDir(box.runroot);
    const ns = await createNamespaces(box.runroot, 'pod-a', { net: true, ipc: true, uts: true });
    assert.deepEqual(ns, {
      net: join(dir, 'pod-a'),
      ipc: join(dir, 'pod-a-ipc'),
      uts: join(dir, 'pod-a-uts'),
    });
    for (const p of Object.values(ns))
      assert.equal(statfsSync(p).type, NSFS_MAGIC, `${p} is a pinned namespace`);
    assert.match(
      (await run('nsenter', [`--net=${ns.net}`, 'ip', '-o', 'link', 'show', 'lo'])).stdout,
      /[<,]UP[,>]/,
    );
    assert.notEqual(statSync(ns.ipc!).ino, statSync('/proc/self/ns/ipc').ino, 'a new IPC namespace');
    assert.notEqual(statSync(ns.uts!).ino, statSync('/proc/self/ns/uts').ino, 'a new UTS namespace');
    const [folder, ...pins] = mountsUnder(dir);
    assert.deepEqual(
      { point: folder?.point, type: folder?.type, shared: folder?.shared },
      { point: dir, type: 'tmpfs', shared: false },
    );
    assert.equal(pins.length, 3);
    await removeNamespaces(Object.values(ns) as string[]);
    assert.deepEqual(readdirSync(dir), []);
    assert.deepEqual(mountsUnder(dir), [], 'nothing is left mounted');
  });

  test('pods pinned and unpinned at once in the pin namespace each get their own namespaces, loopback up, none in the host mount table', async () => {
    const dir = netnsDir(box.runroot);
    // The first goes alone; the others, asked for while it runs, go together (one nsenter).
    const names = Array.from({ length: 6 }, (_, i) => `pod-b${i}`);
    const all = await Promise.all(
      names.map((n) =>
        createNamespaces(box.runroot, n, { net: true, ipc: true, uts: true, privatePins: true }),
      ),
    );
    const inodes = new Set<number>();
    for (const [i, ns] of all.entries()) {
      assert.deepEqual(ns, {
        net: join(dir, 'pins', names[i]!),
        ipc: join(dir, 'pins', `${names[i]}-ipc`),
        uts: join(dir, 'pins', `${names[i]}-uts`),
      });
      assertPinned(ns, inodes);
      assert.match(
        (await run('nsenter', [`--net=${ns.net}`, 'ip', '-o', 'link', 'show', 'lo'])).stdout,
        /[<,]UP[,>]/,
      );
    }
    assert.equal(inodes.size, names.length * 3, 'every namespace is a new one');
    assert.deepEqual(
      mountsUnder(dir).map((m) => m.point),
      [dir, join(dir, 'mnt')],
      'only the folder and the pin namespace are host mounts',
    );
    // Removed at once too: the unmounts after the first go together.
    await removeAll(box.runroot, all);
  });

  test('a pin file a crashed run left behind is replaced', async () => {
    const dir = netnsDir(box.runroot);
    const first = await createNamespaces(box.runroot, 'pod-stale', { net: true });
    writeFileSync(join(dir, 'pod-stale-ipc'), '');
    const again = await createNamespaces(box.runroot, 'pod-stale', { net: true, ipc: true });
    for (const p of [again.net!, again.ipc!]) assert.equal(statfsSync(p).type, NSFS_MAGIC);
    assert.equal(again.net, first.net);
    await removeNamespaces([again.net!, again.ipc!]);
    assert.deepEqual(mountsUnder(dir), []);
  });

  test('processes pinning and unpinning at once, the folder going and coming back, lose no pin', async () => {
    const dir = netnsDir(box.runroot);
    // Each process pins and unpins five times (the folder empties and is taken down meanwhile)
    // and keeps its last pin, which must then be a namespace on the one tmpfs.
    const script = `
      import { createNamespaces, removeNamespaces } from './src/engine/network/netns.ts';
      const [runroot, name] = process.argv.slice(-2);
      for (let i = 0; i < 5; i++) {
        const ns = await createNamespaces(runroot, name + '-' + i, { net: i % 2 === 0, ipc: true });
        await removeNamespaces(Object.values(ns));
      }
      await createNamespaces(runroot, name, { net: true, ipc: false, uts: true });`;
    const names = Array.from({ length: 8 }, (_, i) => `pod-p${i}`);
    await Promise.all(
      names.map((n) =>
        run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, box.runroot, n], {
          cwd: repoRoot,
        }),
      ),
    );
    const paths = names.flatMap((n) => [join(dir, n), join(dir, `${n}-uts`)]);
    assert.deepEqual(readdirSync(dir).sort(), paths.map((p) => p.slice(dir.length + 1)).sort());
    for (const p of paths) assert.equal(statfsSync(p).type, NSFS_MAGIC, `${p} is a pinned namespace`);
    const mounts = mountsUnder(dir);
    assert.deepEqual(
      mounts.filter((m) => m.point === dir).map((m) => m.type),
      ['tmpfs'],
      'one folder mount, none stacked',
    );
    assert.equal(mounts.length, 1 + paths.length);
    await removeNamespaces(paths);
    assert.deepEqual(mountsUnder(dir), []);
  });

  test('a folder bind-mounted onto itself by an earlier version is used and taken down', async () => {
    const dir = netnsDir(box.runroot);
    mkdirSync(dir, { recursive: true });
    await run('mount', ['--bind', dir, dir]);
    await run('mount', ['--make-private', dir]);
    const ns = await createNamespaces(box.runroot, 'pod-old', { net: true, ipc: true });
    for (const p of [ns.net!, ns.ipc!]) assert.equal(statfsSync(p).type, NSFS_MAGIC);
    const [folder, ...pins] = mountsUnder(dir);
    assert.notEqual(folder?.type, 'tmpfs', 'the bind mount stays');
    assert.equal(pins.length, 2);
    await removeNamespaces([ns.net!, ns.ipc!]);
    assert.deepEqual(mountsUnder(dir), []);
  });
});

describe('pinned namespaces made by the command helper (no nsenter, unshare or ip)', {
  skip: !isRoot,
}, () => {
  let box: Sandbox;
  before(async () => {
    box = await sandbox(undefined);
    runCommandsThroughHelper();
  });
  after(async () => {
    stopCommandHelper();
    await box.cleanup();
  });

  test('pods pinned at once in the pin namespace, and on the host: new namespaces, loopback up with its addresses, all removed', async () => {
    const dir = netnsDir(box.runroot);
    const names = Array.from({ length: 4 }, (_, i) => `pod-h${i}`);
    const all = await Promise.all(
      names.map((n) =>
        createNamespaces(box.runroot, n, { net: true, ipc: true, uts: true, privatePins: true }),
      ),
    );
    all.push(await createNamespaces(box.runroot, 'ctr-h', { net: true, ipc: true }));
    const inodes = new Set<number>();
    for (const ns of all) {
      assertPinned(ns, inodes);
      const lo = (await run('nsenter', [`--net=${ns.net}`, 'ip', '-o', 'addr', 'show', 'lo'])).stdout;
      assert.match(lo, /inet 127\.0\.0\.1\/8/, 'the loopback is up with its address');
    }
    assert.equal(inodes.size, names.length * 3 + 2, 'every namespace is a new one');
    assert.notEqual(statSync(all[0]!.uts!).ino, statSync('/proc/self/ns/uts').ino);
    assert.deepEqual(
      mountsUnder(dir).map((m) => m.point),
      [dir, join(dir, 'mnt'), join(dir, 'ctr-h'), join(dir, 'ctr-h-ipc')],
      "the pods' pins are not host mounts",
    );
    await removeAll(box.runroot, all);
  });

  test('a pin that cannot be made says which step failed, on which path', async () => {
    const helper = commandHelper();
    assert.ok(helper);
    const missing = join(box.dir, 'no-such-folder', 'pod-x');
    const o = await helper.pin(undefined, ['net'], [[missing]]);
    assert.deepEqual(
      o,
      { made: [false], why: `mount /proc/self/ns/net on ${missing}: No such file or directory` },
      'the helper knows the system calls of this architecture',
    );
    const notNs = join(box.dir, 'not-a-namespace');
    writeFileSync(notNs, '');
    const e = await helper.pin(notNs, ['ipc'], [[missing]]);
    assert.deepEqual(e, { made: [false], why: `setns ${notNs}: Invalid argument` });
    // Several pods in one child: one that fails leaves the others made.
    const files = ['pod-y', 'pod-z'].map((n) => join(box.dir, n));
    for (const f of files) writeFileSync(f, '');
    const some = await helper.pin(undefined, ['ipc', 'uts'], [files, [missing, missing], files.toReversed()]);
    assert.deepEqual(some?.made, [true, false, true]);
    assert.equal(some?.why, `mount /proc/self/ns/ipc on ${missing}: No such file or directory`);
    assert.equal(statfsSync(files[0]!).type, NSFS_MAGIC);
    await helper.unpin(undefined, files);
    await helper.unpin(undefined, files);
    for (const f of files) assert.equal(existsSync(f), false);
  });
});
