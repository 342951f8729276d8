import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tempDir } from '../../../test/helpers/temp-dir.js';
import { MountedTree, type TreeMount } from '../fs/mounted-tree.js';
import { copyIntoTree, copyToHost, hostSource, namesContents } from './copy.js';

const dir = tempDir('berth-cp-');

/** A container root whose symlinks point at a host folder, upwards, and in circles. */
function makeRoot(name: string): { root: string; host: string } {
  const root = join(dir, name, 'root');
  const host = join(dir, name, 'host');
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  mkdirSync(host, { recursive: true });
  writeFileSync(join(host, 'victim'), 'host\n');
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync(host, join(root, 'escape'));
  symlinkSync(join(host, 'victim'), join(root, 'victim'));
  symlinkSync('../../../../../../..', join(root, 'up'));
  return { root, host };
}

function withTree(root: string, mounts: TreeMount[], fn: (t: MountedTree) => void) {
  const t = new MountedTree(root, mounts, (p) => !statSync(p).isDirectory());
  try {
    fn(t);
  } finally {
    t.close();
  }
}

function copyIn(root: string, src: string, inner: string, mounts: TreeMount[] = [], ro = false) {
  const h = hostSource(src);
  try {
    withTree(root, mounts, (t) =>
      copyIntoTree(t, h.src, inner, { rootReadOnly: ro, contents: namesContents(src), keepOwners: true }),
    );
  } finally {
    h.close();
  }
}

describe('copyIntoTree', () => {
  test('writes land inside the root whatever the symlinks say; the host folder is untouched', () => {
    const { root, host } = makeRoot('copy');
    const src = join(dir, 'copy', 'payload');
    writeFileSync(src, 'payload\n');
    mkdirSync(join(root, host), { recursive: true });
    copyIn(root, src, '/escape/x');
    copyIn(root, src, '/victim');
    copyIn(root, src, '/up/y');
    copyIn(root, src, '/bin/');
    assert.equal(readFileSync(join(root, host, 'x'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(root, host, 'victim'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(root, 'y'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(root, 'usr/bin/payload'), 'utf8'), 'payload\n');
    assert.equal(readFileSync(join(host, 'victim'), 'utf8'), 'host\n');
    assert.equal(existsSync(join(host, 'x')), false);
  });

  test('copies a folder with its symlinks as symlinks, and names a missing parent', () => {
    const { root } = makeRoot('tree');
    const src = join(dir, 'tree', 'src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub/f'), 'f');
    symlinkSync('/etc/shadow', join(src, 'link'));
    copyIn(root, src, '/opt');
    assert.equal(readFileSync(join(root, 'opt/sub/f'), 'utf8'), 'f');
    assert.equal(readlinkSync(join(root, 'opt/link')), '/etc/shadow');
    assert.throws(() => copyIn(root, src, '/missing/dir/x'), /The folder "\/missing\/dir" does not exist/);
    // Docker: "SRC_PATH/." copies what the folder holds, into DEST_PATH (made when missing).
    copyIn(root, `${src}/.`, '/contents');
    assert.equal(readFileSync(join(root, 'contents/sub/f'), 'utf8'), 'f');
    copyIn(root, `${src}/.`, '/opt');
    assert.equal(existsSync(join(root, 'opt/src')), false);
  });

  test('reaches volumes and mounted files, in place, and refuses read-only ones as Docker does', () => {
    const { root } = makeRoot('mounts');
    const vol = join(dir, 'mounts', 'vol');
    const ro = join(dir, 'mounts', 'ro');
    const hosts = join(dir, 'mounts', 'hosts');
    mkdirSync(join(root, 'data'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(vol);
    mkdirSync(ro);
    writeFileSync(hosts, '127.0.0.1 localhost\n');
    // A symlink in the volume pointing at an absolute path means the container's path.
    symlinkSync('/etc', join(vol, 'etc-link'));
    const inode = statSync(hosts).ino;
    const mounts: TreeMount[] = [
      { destination: '/data', source: vol, readOnly: false },
      { destination: '/ro', source: ro, readOnly: true },
      { destination: '/etc/hosts', source: hosts, readOnly: false },
    ];
    const src = join(dir, 'mounts', 'f');
    writeFileSync(src, 'new\n');
    copyIn(root, src, '/data/', mounts);
    assert.equal(readFileSync(join(vol, 'f'), 'utf8'), 'new\n');
    assert.equal(
      existsSync(join(root, 'data/f')),
      false,
      'the image copy under the mount point is left alone',
    );
    copyIn(root, src, '/data/etc-link/', mounts);
    assert.equal(readFileSync(join(root, 'etc/f'), 'utf8'), 'new\n');
    copyIn(root, src, '/etc/hosts', mounts);
    assert.equal(readFileSync(hosts, 'utf8'), 'new\n');
    assert.equal(statSync(hosts).ino, inode, 'a mounted file keeps its inode');
    assert.throws(() => copyIn(root, src, '/ro/', mounts), /^.*mounted volume is marked read-only$/);
    assert.throws(() => copyIn(root, src, '/tmp-x', mounts, true), /container rootfs is marked read-only/);
  });
});

describe('copyToHost', () => {
  test("copies out across mounts, keeping the container's symlinks as links and never following them", () => {
    const { root, host } = makeRoot('out');
    const vol = join(dir, 'out', 'vol');
    mkdirSync(join(root, 'srv/data'), { recursive: true });
    writeFileSync(join(root, 'srv/data/hidden'), 'image copy');
    mkdirSync(vol);
    writeFileSync(join(vol, 'v'), 'volume');
    symlinkSync(join(host, 'victim'), join(root, 'srv/lnk'));
    const dest = join(dir, 'out', 'dest');
    mkdirSync(dest);
    withTree(root, [{ destination: '/srv/data', source: vol, readOnly: false }], (t) => {
      copyToHost(t.source(t.resolve('/srv', false)), dest);
      assert.equal(readFileSync(join(dest, 'srv/data/v'), 'utf8'), 'volume');
      assert.equal(existsSync(join(dest, 'srv/data/hidden')), false);
      assert.equal(readlinkSync(join(dest, 'srv/lnk')), join(host, 'victim'));
      // The file at the end of a path is what the mounts make of it, here the volume's.
      copyToHost(t.source(t.resolve('/srv/data/v', false)), join(dest, 'copied'));
      assert.equal(readFileSync(join(dest, 'copied'), 'utf8'), 'volume');
      copyToHost(t.source(t.resolve('/srv/data/.', false)), dest, { contents: true });
      assert.equal(readFileSync(join(dest, 'v'), 'utf8'), 'volume');
    });
  });
});
